package io.sepshield.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * Loads a data set from a one-line spec, as given on the command line, and takes subsets of it.
 *
 * <p>Specs ({@code kind:details}):
 *
 * <ul>
 *   <li>{@code fashion-mnist:train}, {@code fashion-mnist:test} — Fashion-MNIST from {@link FashionMnist#DEFAULT_DIR};
 *       {@code fashion-mnist:train@/some/dir} reads the IDX files from another directory.
 *   <li>{@code folder:/path/to/root} — an {@link ImageFolder} read as RGB, all images the same size. Options may
 *       follow the path: {@code folder:/root,channels=1,size=28} (size {@code N} or {@code HxW}; images of another
 *       size are resized).
 *   <li>{@code idx:/path/images.idx3-ubyte.gz,/path/labels.idx1-ubyte.gz} — an IDX pair (see {@link IdxDataset});
 *       the labels file may be left out for unlabeled images. Class names are "0".."max label" unless
 *       {@code ,classes=N} follows (needed when the highest class is missing from a subset). Paths cannot contain
 *       commas.
 *   <li>{@code synthetic:classes=4,per-class=50,size=16,channels=1,seed=7} — {@link SyntheticImages}; every key is
 *       optional, the defaults being those shown except {@code seed=0}; size is {@code N} or {@code HxW}.
 * </ul>
 *
 * <p>Errors in a spec raise {@link IllegalArgumentException} whose message quotes the spec and {@link #USAGE}.
 */
public final class DataSources {
  /** One-paragraph help text for command-line usage messages. */
  public static final String USAGE = String.join("\n",
      "data spec, one of:",
      "  fashion-mnist:train | fashion-mnist:test [@DIR]   (default DIR " + FashionMnist.DEFAULT_DIR + ")",
      "  folder:ROOT[,channels=1|3][,size=N|HxW]          (ROOT/<class>/<image>; default channels=3, no resize)",
      "  idx:IMAGES[,LABELS][,classes=N]                   (IDX files, plain or .gz)",
      "  synthetic:[classes=4][,per-class=50][,size=16][,channels=1][,seed=0]");

  private static final Pattern OPTION = Pattern.compile("([a-z-]+)=([^,=]*)");

  private DataSources() {}

  /**
   * Loads the data set that a spec names.
   *
   * @throws IllegalArgumentException for a malformed spec
   * @throws IOException when the data cannot be read
   */
  public static LabeledImages load(String spec) throws IOException {
    int colon = spec.indexOf(':');
    if (colon < 0) {
      throw bad(spec, "missing 'kind:'");
    }
    String kind = spec.substring(0, colon);
    String rest = spec.substring(colon + 1);
    return switch (kind) {
      case "fashion-mnist" -> loadFashionMnist(spec, rest);
      case "folder" -> loadFolder(spec, rest);
      case "idx" -> loadIdx(spec, rest);
      case "synthetic" -> loadSynthetic(spec, rest);
      default -> throw bad(spec, "unknown kind '" + kind + "'");
    };
  }

  /** The first n images (all of them when n is at least the size). */
  public static LabeledImages firstN(LabeledImages data, int n) {
    if (n < 0) {
      throw new IllegalArgumentException("limit must not be negative: " + n);
    }
    return n >= data.size() ? data : data.slice(0, n);
  }

  /** The images of {@code data} whose ids are not among {@code taken}'s, in their order (e.g. the rest of a source). */
  public static LabeledImages excluding(LabeledImages data, LabeledImages taken) {
    Set<String> drop = new HashSet<>(taken.ids());
    return data.select(IntStream.range(0, data.size()).filter(i -> !drop.contains(data.id(i))).toArray());
  }

  /**
   * A seeded random subset of n images with the classes as equally represented as the data allows: classes are
   * filled in turn, so a class with too few images gives its share to the others, and the n % classes left-over
   * images go to classes picked by the seed. Unknown labels count as one more class. Images keep their original
   * order. Returns the data itself when n is at least its size.
   */
  public static LabeledImages balancedSubset(LabeledImages data, int n, long seed) {
    if (n < 0) {
      throw new IllegalArgumentException("subset size must not be negative: " + n);
    }
    if (n >= data.size()) {
      return data;
    }
    Map<Integer, List<Integer>> byLabel = new TreeMap<>();
    for (int i = 0; i < data.size(); i++) {
      byLabel.computeIfAbsent(data.label(i), k -> new ArrayList<>()).add(i);
    }
    Random rng = new Random(seed);
    List<List<Integer>> groups = new ArrayList<>(byLabel.values());
    for (List<Integer> g : groups) {
      Collections.shuffle(g, rng);
    }
    // Shuffled class order decides which classes get the remainder.
    Collections.shuffle(groups, rng);
    int[] chosen = new int[n];
    int taken = 0;
    for (int round = 0; taken < n; round++) {
      for (List<Integer> g : groups) {
        if (round < g.size() && taken < n) {
          chosen[taken++] = g.get(round);
        }
      }
    }
    Arrays.sort(chosen);
    return data.select(chosen);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private static LabeledImages loadFashionMnist(String spec, String rest) throws IOException {
    int at = rest.indexOf('@');
    String split = at < 0 ? rest : rest.substring(0, at);
    if (!split.equals("train") && !split.equals("test")) {
      throw bad(spec, "Fashion-MNIST split must be 'train' or 'test'");
    }
    if (at < 0) {
      return FashionMnist.load(split);
    }
    String dir = rest.substring(at + 1);
    if (dir.isEmpty()) {
      throw bad(spec, "empty directory after '@'");
    }
    return FashionMnist.load(split, Path.of(dir));
  }

  private static LabeledImages loadFolder(String spec, String rest) throws IOException {
    List<String> parts = new ArrayList<>(Arrays.asList(rest.split(",", -1)));
    Map<String, String> options = trailingOptions(spec, parts, List.of("channels", "size"));
    String root = String.join(",", parts);
    if (root.isEmpty()) {
      throw bad(spec, "missing folder path");
    }
    int channels = intOption(spec, options, "channels", 3);
    int[] size = options.containsKey("size") ? parseSize(spec, options.get("size")) : new int[] {0, 0};
    return ImageFolder.read(Path.of(root), channels, size[0], size[1]);
  }

  private static LabeledImages loadIdx(String spec, String rest) throws IOException {
    List<String> parts = new ArrayList<>(Arrays.asList(rest.split(",", -1)));
    Map<String, String> options = trailingOptions(spec, parts, List.of("classes"));
    if (parts.isEmpty() || parts.size() > 2 || parts.stream().anyMatch(String::isEmpty)) {
      throw bad(spec, "expected idx:IMAGES or idx:IMAGES,LABELS");
    }
    List<String> classNames = null;
    if (options.containsKey("classes")) {
      int k = intOption(spec, options, "classes", 0);
      classNames = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        classNames.add(Integer.toString(i));
      }
    }
    Path images = Path.of(parts.get(0));
    Path labels = parts.size() == 2 ? Path.of(parts.get(1)) : null;
    return IdxDataset.load(images, labels, classNames, "idx");
  }

  private static LabeledImages loadSynthetic(String spec, String rest) {
    List<String> parts = new ArrayList<>(rest.isEmpty() ? List.of() : Arrays.asList(rest.split(",", -1)));
    Map<String, String> options =
        trailingOptions(spec, parts, List.of("classes", "per-class", "size", "channels", "seed"));
    if (!parts.isEmpty()) {
      throw bad(spec, "synthetic takes only key=value options, not '" + String.join(",", parts) + "'");
    }
    int[] size = options.containsKey("size") ? parseSize(spec, options.get("size")) : new int[] {16, 16};
    long seed;
    try {
      seed = Long.parseLong(options.getOrDefault("seed", "0"));
    } catch (NumberFormatException e) {
      throw bad(spec, "seed must be an integer");
    }
    return SyntheticImages.generate(intOption(spec, options, "classes", 4), intOption(spec, options, "per-class", 50),
        intOption(spec, options, "channels", 1), size[0], size[1], seed);
  }

  /**
   * Removes trailing "key=value" items from parts (so that the remaining items may contain commas) and returns them.
   * Keys outside the allowed list, or repeated, are an error.
   */
  private static Map<String, String> trailingOptions(String spec, List<String> parts, List<String> allowed) {
    Map<String, String> options = new LinkedHashMap<>();
    while (!parts.isEmpty()) {
      Matcher m = OPTION.matcher(parts.get(parts.size() - 1));
      if (!m.matches()) {
        break;
      }
      if (!allowed.contains(m.group(1))) {
        throw bad(spec, "unknown option '" + m.group(1) + "' (allowed: " + String.join(", ", allowed) + ")");
      }
      if (options.put(m.group(1), m.group(2)) != null) {
        throw bad(spec, "option '" + m.group(1) + "' given twice");
      }
      parts.remove(parts.size() - 1);
    }
    return options;
  }

  private static int intOption(String spec, Map<String, String> options, String key, int dflt) {
    String v = options.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(v);
      if (n <= 0) {
        throw bad(spec, key + " must be positive");
      }
      return n;
    } catch (NumberFormatException e) {
      throw bad(spec, key + " must be a positive integer, not '" + v + "'");
    }
  }

  /** "N" (square) or "HxW". */
  private static int[] parseSize(String spec, String v) {
    Matcher m = Pattern.compile("(\\d{1,5})(?:x(\\d{1,5}))?").matcher(v);
    if (!m.matches()) {
      throw bad(spec, "size must be N or HxW, not '" + v + "'");
    }
    int h = Integer.parseInt(m.group(1));
    int w = m.group(2) == null ? h : Integer.parseInt(m.group(2));
    if (h == 0 || w == 0) {
      throw bad(spec, "size must be positive");
    }
    return new int[] {h, w};
  }

  private static IllegalArgumentException bad(String spec, String why) {
    return new IllegalArgumentException("bad data spec '" + spec + "': " + why + "\n" + USAGE);
  }
}
