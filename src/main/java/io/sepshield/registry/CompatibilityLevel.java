package io.sepshield.registry;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;

/** Confluent's compatibility levels, checked with Avro's own schema resolution rules. */
public enum CompatibilityLevel {
  NONE,
  BACKWARD,
  BACKWARD_TRANSITIVE,
  FORWARD,
  FORWARD_TRANSITIVE,
  FULL,
  FULL_TRANSITIVE;

  /** Transitive levels check against every earlier version, the others only against the latest. */
  public boolean transitive() {
    return name().endsWith("_TRANSITIVE");
  }

  /**
   * Why {@code candidate} may not follow {@code previous} under this level; empty when it may.
   * BACKWARD: consumers on the candidate can read data written with previous. FORWARD: the reverse.
   */
  public List<String> incompatibilities(Schema candidate, Schema previous) {
    List<String> problems = new ArrayList<>();
    if (this != NONE && !name().startsWith("FORWARD")) {
      problems.addAll(describe("BACKWARD", candidate, previous));
    }
    if (this != NONE && !name().startsWith("BACKWARD")) {
      problems.addAll(describe("FORWARD", previous, candidate));
    }
    return problems;
  }

  private static List<String> describe(String direction, Schema reader, Schema writer) {
    List<String> out = new ArrayList<>();
    for (Incompatibility i :
        SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getResult().getIncompatibilities()) {
      out.add(direction + " " + i.getType() + " at " + i.getLocation() + ": " + i.getMessage());
    }
    return out;
  }
}
