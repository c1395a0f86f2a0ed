package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sepshield.avro.BundleUpdated;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Released schemas are frozen under schemas/history/&lt;Record&gt;/vN.avsc. Every current schema must
 * be able to read data written with every released version (BACKWARD), so consumers can be
 * upgraded before or after producers and old records in topics stay readable.
 */
class SchemaHistoryTest {
  private static final Path SCHEMAS = Path.of(System.getProperty("basedir", ".")).resolve("schemas");

  @Test
  void everyCurrentSchemaReadsEveryReleasedVersion() throws IOException {
    assertEquals(List.of(), violations(SCHEMAS));
    assertEquals(4, avscFiles(SCHEMAS).size(), "UploadedImage, ProtectedImage, ProtectionFailure, BundleUpdated");
  }

  @Test
  void generatedClassesAreCompiledFromTheSchemaFiles() throws IOException {
    for (Schema generated : List.of(UploadedImage.getClassSchema(), ProtectedImage.getClassSchema(),
        ProtectionFailure.getClassSchema(), BundleUpdated.getClassSchema())) {
      Schema file = parse(SCHEMAS.resolve(generated.getName() + ".avsc"));
      assertEquals("io.sepshield.avro", generated.getNamespace());
      // Parsing form: the generated copy carries extra avro.java.string properties.
      assertEquals(SchemaNormalization.toParsingForm(file), SchemaNormalization.toParsingForm(generated));
    }
  }

  @Test
  void checkerAcceptsAnOptionalFieldWithDefault(@TempDir Path dir) throws IOException {
    String released = Files.readString(SCHEMAS.resolve("BundleUpdated.avsc"));
    release(dir, "BundleUpdated", released);
    Files.writeString(dir.resolve("BundleUpdated.avsc"), addField(released,
        "{\"name\": \"signature\", \"type\": [\"null\", \"string\"], \"default\": null}"));

    assertEquals(List.of(), violations(dir));
  }

  @Test
  void checkerRejectsIncompatibleChanges(@TempDir Path dir) throws IOException {
    String released = Files.readString(SCHEMAS.resolve("BundleUpdated.avsc"));
    release(dir, "BundleUpdated", released);
    // A new required field: data written with v1 has no value for it.
    Files.writeString(dir.resolve("BundleUpdated.avsc"), addField(released, "{\"name\": \"size\", \"type\": \"long\"}"));

    List<String> problems = violations(dir);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).contains("BundleUpdated") && problems.get(0).contains("size"), problems.get(0));

    // A changed type: v1 wrote strings where the current schema expects an int.
    Files.writeString(dir.resolve("BundleUpdated.avsc"),
        released.replace("{\"name\": \"uri\", \"type\": \"string\"", "{\"name\": \"uri\", \"type\": \"int\""));
    assertTrue(violations(dir).get(0).contains("TYPE_MISMATCH"), violations(dir).toString());
  }

  @Test
  void checkerRejectsSchemasWithoutReleasedSnapshot(@TempDir Path dir) throws IOException {
    Files.copy(SCHEMAS.resolve("BundleUpdated.avsc"), dir.resolve("BundleUpdated.avsc"));

    assertEquals(List.of("BundleUpdated: no snapshot under history/BundleUpdated/"), violations(dir));
  }

  /** Everything wrong with the schema folder {@code dir}; empty when every evolution is BACKWARD. */
  static List<String> violations(Path dir) throws IOException {
    List<String> problems = new ArrayList<>();
    for (Path current : avscFiles(dir)) {
      String name = current.getFileName().toString().replace(".avsc", "");
      Schema reader = parse(current);
      Path history = dir.resolve("history").resolve(name);
      List<Path> snapshots = Files.isDirectory(history) ? avscFiles(history) : List.of();
      if (snapshots.isEmpty()) {
        problems.add(name + ": no snapshot under history/" + name + "/");
      }
      for (Path snapshot : snapshots) {
        SchemaCompatibility.SchemaPairCompatibility result =
            SchemaCompatibility.checkReaderWriterCompatibility(reader, parse(snapshot));
        for (SchemaCompatibility.Incompatibility i : result.getResult().getIncompatibilities()) {
          problems.add(name + " cannot read " + snapshot.getFileName() + ": " + i.getType() + " at "
              + i.getLocation() + ": " + i.getMessage());
        }
      }
    }
    return problems;
  }

  private static List<Path> avscFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".avsc")).sorted().toList();
    }
  }

  private static Schema parse(Path file) throws IOException {
    return new Schema.Parser().parse(file.toFile());
  }

  private static void release(Path dir, String record, String schema) throws IOException {
    Files.createDirectories(dir.resolve("history").resolve(record));
    Files.writeString(dir.resolve("history").resolve(record).resolve("v1.avsc"), schema);
  }

  private static String addField(String schema, String field) {
    int end = schema.lastIndexOf(']');
    return schema.substring(0, end) + ", " + field + schema.substring(end);
  }
}
