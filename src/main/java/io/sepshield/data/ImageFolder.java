package io.sepshield.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Reads and writes image data sets laid out as {@code root/<class>/<file>} (the torchvision "ImageFolder" layout).
 *
 * <p><b>Reading.</b> Class names are the sorted names of the sub-folders of root; each class folder is searched
 * recursively for png, jpg/jpeg, bmp, gif and tif/tiff files (case-insensitive extension; hidden files and other
 * files are skipped). Image files directly in root are read as unlabeled ({@link LabeledImages#UNKNOWN_LABEL}). Ids
 * are the paths relative to root with '/' separators, e.g. "Coat/img_001.png". Images are ordered by class, then by id;
 * unlabeled images come last. Pixels are converted to the requested channel count (see {@link PngCodec}); when a
 * target size is given, images of another size are resized with {@link ImageResize}, otherwise all images must have
 * the same size.
 *
 * <p><b>Class list file.</b> Folder order alone would renumber classes (Fashion-MNIST's "T-shirt/top" is label 0 but
 * cannot even be a folder name), so {@link #write} also writes {@value #CLASSES_FILE}: the class names in label
 * order, one a line. When that file exists, reading takes class names and label order from it, and each sub-folder
 * must be the {@link #folderName} of a listed class.
 *
 * <p><b>Writing.</b> Each image becomes a lossless PNG at {@code root/<class folder>/<id with .png extension>}; an id
 * that already starts with its class folder is not nested twice. Unlabeled images are written directly to root,
 * under the last part of their id.
 */
public final class ImageFolder {
  /** Name of the class list file written next to the class folders. */
  public static final String CLASSES_FILE = "classes.txt";

  /** File extensions read as images (lower case). */
  public static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff");

  private ImageFolder() {}

  /** Reads root with the given channel count (1 or 3); all images must have the same size. */
  public static LabeledImages read(Path root, int channels) throws IOException {
    return read(root, channels, 0, 0);
  }

  /**
   * Reads root with the given channel count (1 or 3), resizing every image to height x width when its size differs.
   * Pass 0, 0 for "no target size": then all images must have the same size.
   */
  public static LabeledImages read(Path root, int channels, int height, int width) throws IOException {
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("channels must be 1 (gray) or 3 (RGB), not " + channels);
    }
    if ((height == 0) != (width == 0) || height < 0 || width < 0) {
      throw new IllegalArgumentException("target size must be both positive or both 0 (none): " + height + "x"
          + width);
    }
    if (!Files.isDirectory(root)) {
      throw new FileNotFoundException("image folder " + root + " does not exist or is not a directory");
    }
    Listing listing = list(root);
    List<String> classNames = listing.classNames();
    List<String> ids = listing.ids();
    List<Integer> labelList = listing.labels();

    byte[] pixels = null;
    int h = height;
    int w = width;
    String firstId = null;
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      ChwImage img;
      try {
        img = PngCodec.decode(Files.readAllBytes(root.resolve(id)), channels);
      } catch (ImageFormatException e) {
        throw new ImageFormatException(e.kind(), root.resolve(id) + ": " + e.getMessage(), e);
      }
      if (h == 0) {
        h = img.height();
        w = img.width();
        firstId = id;
      } else if (img.height() != h || img.width() != w) {
        if (height == 0) {
          throw new IOException(root.resolve(id) + " is " + img.height() + "x" + img.width() + " (HxW) but "
              + firstId + " is " + h + "x" + w + "; give a target size to resize images to one size");
        }
        img = ImageResize.resize(img, h, w);
      }
      if (pixels == null) {
        long total = (long) ids.size() * channels * h * w;
        if (total > Integer.MAX_VALUE - 8) {
          throw new IOException(root + ": " + ids.size() + " images of " + channels + "x" + h + "x" + w
              + " exceed the 2 GiB in-memory limit");
        }
        pixels = new byte[(int) total];
      }
      System.arraycopy(img.pixels(), 0, pixels, i * img.pixels().length, img.pixels().length);
    }
    int[] labels = labelList.stream().mapToInt(Integer::intValue).toArray();
    return new LabeledImages(channels, h, w, pixels, labels, classNames, ids);
  }

  /**
   * The image files of a folder and their labels, without reading any pixels.
   *
   * @param classNames the classes, in label order
   * @param ids paths relative to root with '/' separators, in reading order
   * @param labels per id, {@link LabeledImages#UNKNOWN_LABEL} for images directly in root
   */
  public record Listing(List<String> classNames, List<String> ids, List<Integer> labels) {}

  /** Lists root the way {@link #read} reads it (same classes, ids, order and labels). */
  public static Listing list(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new FileNotFoundException("image folder " + root + " does not exist or is not a directory");
    }
    List<String> classNames = classNames(root);
    List<String> ids = new ArrayList<>();
    List<Integer> labelList = new ArrayList<>();
    for (int k = 0; k < classNames.size(); k++) {
      Path dir = root.resolve(folderName(classNames.get(k)));
      if (Files.isDirectory(dir)) {
        for (String id : imageFiles(root, dir, true)) {
          ids.add(id);
          labelList.add(k);
        }
      }
    }
    for (String id : imageFiles(root, root, false)) {
      ids.add(id);
      labelList.add(LabeledImages.UNKNOWN_LABEL);
    }
    if (ids.isEmpty()) {
      throw new IOException("no images (" + String.join(", ", new TreeSet<>(IMAGE_EXTENSIONS))
          + ") found under " + root);
    }
    return new Listing(classNames, ids, labelList);
  }

  /**
   * Writes the data set below root as lossless PNGs, plus {@value #CLASSES_FILE} and one folder per class (also for
   * classes without images, so that reading it back gives the same classes). Only 1- or 3-channel data can be
   * written.
   *
   * @throws IOException when root exists and is not an empty directory (stale files from an earlier run would
   *     silently join the data set when it is read back)
   * @throws IllegalArgumentException when two images would get the same file, or a class name cannot be stored
   */
  public static void write(LabeledImages data, Path root) throws IOException {
    if (data.channels() != 1 && data.channels() != 3) {
      throw new IllegalArgumentException("PNG folders hold 1- or 3-channel images, not " + data.channels());
    }
    if (Files.exists(root)) {
      if (!Files.isDirectory(root)) {
        throw new IOException(root + " exists and is not a directory");
      }
      try (Stream<Path> s = Files.list(root)) {
        if (s.findAny().isPresent()) {
          throw new IOException("refusing to write into non-empty directory " + root
              + ": files already there would be mixed into the data set");
        }
      }
    }
    List<String> folders = new ArrayList<>();
    Map<String, String> classOfFolder = new HashMap<>();
    for (String name : data.classNames()) {
      if (name.isEmpty() || name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
        throw new IllegalArgumentException("class name " + quoted(name) + " cannot be stored in " + CLASSES_FILE);
      }
      String folder = folderName(name);
      String other = classOfFolder.put(folder, name);
      if (other != null) {
        throw new IllegalArgumentException("classes " + quoted(other) + " and " + quoted(name)
            + " would share the folder " + quoted(folder));
      }
      folders.add(folder);
    }
    // Plan every path before writing anything, so a clash cannot leave a half-written folder.
    String[] paths = new String[data.size()];
    Map<String, Integer> owner = new HashMap<>();
    for (int i = 0; i < data.size(); i++) {
      paths[i] = relativePath(data.id(i), data.label(i), folders);
      Integer j = owner.put(paths[i], i);
      if (j != null) {
        throw new IllegalArgumentException("images " + quoted(data.id(j)) + " and " + quoted(data.id(i))
            + " would both be written to " + paths[i]);
      }
    }
    Files.createDirectories(root);
    Files.write(root.resolve(CLASSES_FILE), (String.join("\n", data.classNames()) + "\n")
        .getBytes(StandardCharsets.UTF_8));
    for (String folder : folders) {
      Files.createDirectories(root.resolve(folder));
    }
    for (int i = 0; i < data.size(); i++) {
      Path target = root.resolve(paths[i]);
      Files.createDirectories(target.getParent());
      Files.write(target, PngCodec.encode(data.image(i), data.channels(), data.height(), data.width()));
    }
  }

  /**
   * The folder name used for a class: the name with '/', '\' and control characters replaced by '_', and a leading
   * '.' (which would hide the folder) replaced by '_'. E.g. "T-shirt/top" becomes "T-shirt_top".
   */
  public static String folderName(String className) {
    StringBuilder b = new StringBuilder(className.length());
    for (int i = 0; i < className.length(); i++) {
      char ch = className.charAt(i);
      b.append(ch == '/' || ch == '\\' || Character.isISOControl(ch) ? '_' : ch);
    }
    if (b.length() == 0) {
      return "_";
    }
    if (b.charAt(0) == '.') {
      b.setCharAt(0, '_');
    }
    return b.toString();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private static List<String> classNames(Path root) throws IOException {
    List<String> folders = new ArrayList<>();
    try (Stream<Path> s = Files.list(root)) {
      s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("."))
          .sorted().forEach(folders::add);
    }
    Path manifest = root.resolve(CLASSES_FILE);
    if (!Files.isRegularFile(manifest)) {
      return folders;
    }
    List<String> names = new ArrayList<>();
    for (String line : Files.readAllLines(manifest, StandardCharsets.UTF_8)) {
      if (!line.isEmpty()) {
        names.add(line);
      }
    }
    Set<String> listed = new HashSet<>();
    for (String name : names) {
      if (!listed.add(folderName(name))) {
        throw new IOException(manifest + " lists class " + quoted(name) + " twice (or two classes share its folder)");
      }
    }
    for (String folder : folders) {
      if (!listed.contains(folder)) {
        throw new IOException("folder " + root.resolve(folder) + " is not a class listed in " + manifest);
      }
    }
    return names;
  }

  /** Image files below dir (recursively or not) as sorted '/'-separated paths relative to root. */
  private static List<String> imageFiles(Path root, Path dir, boolean recursive) throws IOException {
    try (Stream<Path> s = recursive ? Files.walk(dir) : Files.list(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> isImageName(p.getFileName().toString()))
          .map(p -> root.relativize(p))
          .filter(rel -> {
            for (Path part : rel) {
              if (part.toString().startsWith(".")) {
                return false;
              }
            }
            return true;
          })
          .map(rel -> rel.toString().replace(rel.getFileSystem().getSeparator(), "/"))
          .sorted()
          .toList();
    }
  }

  private static boolean isImageName(String name) {
    String ext = extension(name);
    return ext != null && IMAGE_EXTENSIONS.contains(ext.toLowerCase(Locale.ROOT));
  }

  private static String extension(String name) {
    int dot = name.lastIndexOf('.');
    return dot > 0 ? name.substring(dot + 1) : null;
  }

  /** Where image id goes below root, following the rules in the class comment. */
  private static String relativePath(String id, int label, List<String> folders) {
    List<String> parts = new ArrayList<>();
    for (String part : id.replace('\\', '/').split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new IllegalArgumentException("image id " + quoted(id) + " points outside its folder");
      }
      // A leading '.' would hide the file from the reader.
      parts.add(part.startsWith(".") ? "_" + part.substring(1) : part);
    }
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("image id " + quoted(id) + " has no file name");
    }
    String last = parts.get(parts.size() - 1);
    String ext = extension(last);
    if (ext != null && IMAGE_EXTENSIONS.contains(ext.toLowerCase(Locale.ROOT))) {
      last = last.substring(0, last.length() - ext.length() - 1);
    }
    parts.set(parts.size() - 1, last + ".png");
    if (label == LabeledImages.UNKNOWN_LABEL) {
      return parts.get(parts.size() - 1);
    }
    String folder = folders.get(label);
    if (parts.size() > 1 && parts.get(0).equals(folder)) {
      parts.remove(0);
    }
    return folder + "/" + String.join("/", parts);
  }

  private static String quoted(String s) {
    return "'" + s + "'";
  }
}
