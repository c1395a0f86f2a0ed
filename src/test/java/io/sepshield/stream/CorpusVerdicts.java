package io.sepshield.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.UploadDecoder;
import io.sepshield.reliability.BadInputCorpus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * What the service did with each corpus kind, judged against what it should do: one row per kind with
 * {@code kind, expected_reason, observed_reason, ok} (the fields of reliability.json's {@code bad_input_kinds}) plus
 * {@code detail}. Outcomes are matched to kinds by the {@link BadInputCorpus#KIND_HEADER} the service carries through.
 */
final class CorpusVerdicts {
  static final int EPS255 = StreamFixtures.EPS255;

  /** One outcome of one upload: a dead letter (reason, cause) or a protected image. */
  record Outcome(String reason, String cause, ProtectedImage image) {}

  private final Map<String, List<Outcome>> outcomes = new LinkedHashMap<>();
  private final Map<String, List<String>> failureEvents = new LinkedHashMap<>();
  private final Map<String, Long> allocated = new LinkedHashMap<>();
  private final List<String> unmatched = new ArrayList<>();

  void deadLetter(Headers headers) {
    String kind = header(headers, BadInputCorpus.KIND_HEADER);
    Outcome o = new Outcome(header(headers, DeadLetters.REASON), header(headers, DeadLetters.CAUSE), null);
    add(kind, o);
  }

  void protectedImage(Headers headers, ProtectedImage image) {
    add(header(headers, BadInputCorpus.KIND_HEADER), new Outcome(BadInputCorpus.PROTECTED, null, image));
  }

  void failureEvent(Headers headers, String reason) {
    String kind = header(headers, BadInputCorpus.KIND_HEADER);
    if (kind == null) {
      unmatched.add("failure event " + reason + " without the kind header");
    } else {
      failureEvents.computeIfAbsent(kind, k -> new ArrayList<>()).add(reason);
    }
  }

  /** Heap bytes the processing thread allocated for this kind's records. */
  void allocated(String kind, long bytes) {
    allocated.merge(kind, bytes, Long::sum);
  }

  private void add(String kind, Outcome o) {
    if (kind == null) {
      unmatched.add((o.image() != null ? "protected " + o.image().getId() : "dead letter " + o.reason())
          + " without the kind header");
    } else {
      outcomes.computeIfAbsent(kind, k -> new ArrayList<>()).add(o);
    }
  }

  List<String> unmatched() {
    return unmatched;
  }

  /** One row per case, in the corpus' order. */
  List<Map<String, Object>> rows(List<BadInputCorpus.Case> cases, long maxRejectedAllocation) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (BadInputCorpus.Case c : cases) {
      List<Outcome> got = outcomes.getOrDefault(c.kind(), List.of());
      Set<String> reasons = new TreeSet<>();
      got.forEach(o -> reasons.add(o.reason()));
      String observed = got.isEmpty() ? "NONE" : String.join("+", reasons);
      List<String> problems = new ArrayList<>();
      if (got.size() != c.uploads().size()) {
        problems.add(got.size() + " outcomes for " + c.uploads().size() + " uploads");
      }
      if (!observed.equals(c.expected())) {
        problems.add("expected " + c.expected());
      }
      String detail;
      if (c.protects()) {
        List<String> details = new ArrayList<>();
        for (int i = 0; i < Math.min(got.size(), c.uploads().size()); i++) {
          if (got.get(i).image() != null) {
            details.add(checkProtected(c, c.uploads().get(i).image(), got.get(i).image(), problems));
          }
        }
        detail = String.join("; ", details);
      } else {
        detail = got.isEmpty() ? "" : Objects.toString(got.get(0).cause(), "");
        if (c.causeContains() != null && got.stream().anyMatch(o -> o.cause() == null
            || !o.cause().contains(c.causeContains()))) {
          problems.add("cause lacks '" + c.causeContains() + "'");
        }
        List<String> events = failureEvents.getOrDefault(c.kind(), List.of());
        if (!events.equals(got.stream().map(Outcome::reason).toList())) {
          problems.add("failure events " + events);
        }
        Long bytes = allocated.get(c.kind());
        if (bytes != null && bytes > maxRejectedAllocation) {
          problems.add("allocated " + (bytes >> 20) + " MiB to reject it");
        }
      }
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("kind", c.kind());
      row.put("expected_reason", c.expected());
      row.put("observed_reason", observed);
      row.put("ok", problems.isEmpty());
      row.put("detail", (problems.isEmpty() ? "" : "PROBLEM: " + String.join(", ", problems) + ". ")
          + (detail.length() > 300 ? detail.substring(0, 300) + "…" : detail));
      if (allocated.containsKey(c.kind())) {
        row.put("allocated_mib", Math.round(allocated.get(c.kind()) / 1048576.0 * 10) / 10.0);
      }
      rows.add(row);
    }
    return rows;
  }

  /** Shape, reductions, alpha and the ε-bound of one protected output against its upload; returns a summary. */
  private static String checkProtected(BadInputCorpus.Case c, byte[] uploaded, ProtectedImage p,
      List<String> problems) {
    BadInputCorpus.Shape want = c.shape();
    List<Object> got = List.of(p.getWidth(), p.getHeight(), p.getChannels(), p.getHasAlpha());
    if (!got.equals(List.of(want.width(), want.height(), want.channels(), want.alpha()))) {
      problems.add("shape " + got);
    }
    List<String> reductions = p.getReductions();
    if (want.reduction() == null ? !reductions.isEmpty() : !reductions.contains(want.reduction())) {
      problems.add("reductions " + reductions);
    }
    try {
      DecodedUpload before = UploadDecoder.decode(uploaded, UploadDecoder.Options.DEFAULT);
      DecodedUpload after = UploadDecoder.decode(bytes(p.getPng()), UploadDecoder.Options.DEFAULT);
      int delta = maxAbsDelta(before.colour().pixels(), after.colour().pixels());
      if (delta > EPS255 || delta == 0) {
        problems.add("max |δ| " + delta + " (ε = " + EPS255 + "/255)");
      }
      if (delta != p.getMaxAbsDelta255()) {
        problems.add("reported max |δ| " + p.getMaxAbsDelta255() + ", actual " + delta);
      }
      if (!java.util.Arrays.equals(before.alpha(), after.alpha())) {
        problems.add("alpha changed");
      }
      return p.getWidth() + "x" + p.getHeight() + "x" + p.getChannels() + (p.getHasAlpha() ? "+alpha" : "")
          + ", max |δ| " + delta + "/255" + (reductions.isEmpty() ? "" : ", " + String.join(", ", reductions));
    } catch (ImageFormatException | RuntimeException e) {
      problems.add("cannot check: " + e);
      return "";
    }
  }

  private static int maxAbsDelta(byte[] a, byte[] b) {
    if (a.length != b.length) {
      return Integer.MAX_VALUE;
    }
    int max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
    }
    return max;
  }

  /**
   * Writes the rows to target/reliability/{@code name}.json, and under {@code key} into the file named by the system
   * property {@code reliability.results} (read-modify-write: every other key is kept).
   */
  static void write(String key, List<Map<String, Object>> rows, String command, String name) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ArrayNode array = json.valueToTree(rows);
    Path local = Path.of("target", "reliability", name + ".json");
    Files.createDirectories(local.getParent());
    json.writerWithDefaultPrettyPrinter().writeValue(local.toFile(), array);
    String target = System.getProperty("reliability.results");
    if (target != null && !target.isBlank()) {
      Path file = Path.of(target);
      ObjectNode doc = Files.isRegularFile(file) ? (ObjectNode) json.readTree(file.toFile()) : json.createObjectNode();
      doc.set(key, array);
      doc.put(key + "_command", command + " -Dreliability.results=" + target);
      Files.createDirectories(file.toAbsolutePath().getParent());
      json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), doc);
    }
  }

  /** The rows as a Markdown table (kind, expected, observed, ok), for the test log and the docs. */
  static String table(List<Map<String, Object>> rows) {
    StringBuilder s = new StringBuilder("| kind | expected | observed | ok | detail |\n|---|---|---|---|---|\n");
    for (Map<String, Object> r : rows) {
      s.append("| ").append(r.get("kind")).append(" | ").append(r.get("expected_reason")).append(" | ")
          .append(r.get("observed_reason")).append(" | ").append(r.get("ok")).append(" | ")
          .append(String.valueOf(r.get("detail")).replace("|", "\\|")).append(" |\n");
    }
    return s.toString();
  }

  static String header(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
