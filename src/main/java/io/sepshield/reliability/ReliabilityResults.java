package io.sepshield.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes crash-soak figures into the shared results file (docs/results/reliability.json) read-modify-write: other
 * keys (registry_faults, bad_input_kinds, …) are kept; the run's record replaces an earlier one with the same
 * instance count in {@code crash_runs}; the top-level {@code uploads}, {@code kills}, {@code instances}, {@code lost},
 * {@code duplicated}, {@code eps_violations} sum up (instances: the most) over {@code crash_runs}, and
 * {@code command} lists the commands that produced them next to any other command already listed there.
 */
public final class ReliabilityResults {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper SNAKE = new ObjectMapper()
      .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);

  private ReliabilityResults() {}

  /** The JSON record of one run. */
  public static ObjectNode record(CrashSoak.Result r, String command, String date, String machine) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", "sigkill-" + r.instances() + "-instance" + (r.instances() == 1 ? "" : "s"));
    m.put("uploads", r.uploads());
    m.put("corrupt_uploads", r.corruptUploads());
    m.put("kills", r.kills());
    m.put("instances", r.instances());
    m.put("partitions", r.partitions());
    m.put("protected", r.protectedImages());
    m.put("dead_lettered", r.deadLettered());
    m.put("lost", r.lost());
    m.put("duplicated", r.duplicated());
    m.put("eps_violations", r.epsViolations());
    m.put("max_abs_delta_255", r.maxAbsDelta255());
    m.put("unexpected_outcomes", r.unexpected());
    m.put("unknown_ids", r.unknownIds());
    m.put("failure_events_duplicated", r.failureEventsDuplicated());
    m.put("processor_starts", r.processorStarts());
    m.put("mid_flush_kills_that_aborted_output", r.abortedRecordsSeen());
    m.put("seconds", r.seconds());
    m.put("ok", r.ok());
    m.put("kill_log", SNAKE.valueToTree(r.killLog()));
    m.put("problems", r.problems());
    m.put("command", command);
    m.put("date", date);
    m.put("machine", machine);
    return JSON.valueToTree(m);
  }

  /** Adds or replaces {@code run} (by name) in {@code file} and refreshes the summary; other keys stay. */
  public static void merge(Path file, ObjectNode run) throws IOException {
    ObjectNode doc = Files.isRegularFile(file) ? (ObjectNode) JSON.readTree(file.toFile()) : JSON.createObjectNode();
    ArrayNode runs = doc.has("crash_runs") && doc.get("crash_runs").isArray() ? (ArrayNode) doc.get("crash_runs")
        : JSON.createArrayNode();
    ArrayNode kept = JSON.createArrayNode();
    for (JsonNode r : runs) {
      if (!r.path("name").asText().equals(run.path("name").asText())) {
        kept.add(r);
      }
    }
    kept.add(run);
    for (JsonNode r : kept) { // kill logs written before their keys were snake_case
      if (r.get("kill_log") instanceof ArrayNode log) {
        for (JsonNode kill : log) {
          if (kill instanceof ObjectNode k) {
            for (String name : java.util.List.copyOf(k.properties().stream().map(Map.Entry::getKey).toList())) {
              String snake = name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
              if (!snake.equals(name)) {
                k.set(snake, k.remove(name));
              }
            }
          }
        }
      }
    }
    doc.set("crash_runs", kept);
    long uploads = 0;
    long kills = 0;
    long lost = 0;
    long duplicated = 0;
    long eps = 0;
    int instances = 0;
    ArrayNode commands = JSON.createArrayNode();
    // Commands someone else listed stay; ours are those of the crash runs.
    JsonNode previous = doc.get("command");
    if (previous != null && previous.isTextual()) {
      if (!previous.asText().contains(" soak ")) {
        commands.add(previous.asText());
      }
    } else if (previous != null && previous.isArray()) {
      previous.forEach(c -> {
        if (!c.asText().contains(" soak ")) {
          commands.add(c.asText());
        }
      });
    }
    for (JsonNode r : kept) {
      uploads += r.path("uploads").asLong();
      kills += r.path("kills").asLong();
      lost += r.path("lost").asLong();
      duplicated += r.path("duplicated").asLong();
      eps += r.path("eps_violations").asLong();
      instances = Math.max(instances, r.path("instances").asInt());
      commands.add(r.path("command").asText());
    }
    doc.put("uploads", uploads);
    doc.put("kills", kills);
    doc.put("instances", instances);
    doc.put("lost", lost);
    doc.put("duplicated", duplicated);
    doc.put("eps_violations", eps);
    doc.set("command", commands);
    Files.createDirectories(file.toAbsolutePath().getParent());
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), doc);
  }
}
