package io.sepshield.model;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Saves and loads the parameters of a {@link FeatureClassifier}, BatchNorm running statistics included.
 *
 * <p>DJL's own encoding checks only leaf parameter names ("weight"), so parameters of another architecture or
 * width could load silently, or fail deep in the native engine. The format therefore starts with a header that
 * describes the model: channels, classes, feature size, normalisation, and the full name and shape of every
 * parameter. Loading compares that with the target before touching it and refuses a mismatch with an
 * {@link IncompatibleParametersException} naming the first difference.
 *
 * <pre>
 * int magic "SEPP", byte format version,
 * int channels, int numClasses, int featureDim, float[channels] mean, float[channels] std,
 * input shape the model was initialised with (DJL encoding),
 * int parameter count, then per parameter: UTF name, shape (DJL encoding),
 * DJL {@code saveParameters} stream of the whole classifier
 * </pre>
 */
public final class ModelParams {
  private static final int MAGIC = 0x53455050; // "SEPP"
  private static final byte FORMAT_VERSION = 1;

  private ModelParams() {}

  /** Parameters that cannot be loaded into the target model: another architecture, size or normalisation. */
  public static final class IncompatibleParametersException extends IOException {
    IncompatibleParametersException(String message) {
      super(message);
    }
  }

  /** The model's parameters in this class's format. */
  public static byte[] toBytes(FeatureClassifier model) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      save(model, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array stream never fails
    }
    return bytes.toByteArray();
  }

  public static void save(FeatureClassifier model, Path path) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path))) {
      save(model, out);
    }
  }

  /** Writes the model's parameters to {@code out}, leaving it open (for archives with several entries). */
  public static void save(FeatureClassifier model, OutputStream out) throws IOException {
    if (!model.isInitialized()) {
      throw new IllegalStateException("cannot save the parameters of an uninitialised model");
    }
    DataOutputStream data = new DataOutputStream(out);
    data.writeInt(MAGIC);
    data.writeByte(FORMAT_VERSION);
    Header.of(model).write(data);
    model.saveParameters(data);
    data.flush();
  }

  /** See {@link #load(FeatureClassifier, NDManager, InputStream)}. */
  public static void load(FeatureClassifier target, NDManager manager, byte[] bytes) throws IOException {
    load(target, manager, new ByteArrayInputStream(bytes));
  }

  /** See {@link #load(FeatureClassifier, NDManager, InputStream)}. */
  public static void load(FeatureClassifier target, NDManager manager, Path path) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(path))) {
      load(target, manager, in);
    }
  }

  /**
   * Replaces the target's parameters with saved ones, creating the new arrays in {@code manager}. The target is
   * typically a fresh instance from {@link Architectures#create}; if it is not initialised yet, it takes the input
   * shape the saved model was initialised with. Parameters keep their trainable/frozen state. An initialised
   * target's previous arrays are not closed, since a caller may still hold them; they go when their manager closes.
   *
   * @throws IncompatibleParametersException if the saved model differs from the target in architecture, channels,
   *     classes, feature size or normalisation; the target is left as it was
   * @throws IOException if the data is not in this format or is truncated or corrupt; an uninitialised target is
   *     left uninitialised, an initialised one may be partly overwritten
   */
  public static void load(FeatureClassifier target, NDManager manager, InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    if (data.readInt() != MAGIC) {
      throw new IOException("not a SEP Shield parameter file (bad magic number)");
    }
    byte version = data.readByte();
    if (version != FORMAT_VERSION) {
      throw new IOException("unsupported parameter format version " + version + " (expected " + FORMAT_VERSION + ")");
    }
    Header saved = Header.read(data);
    saved.checkSettings(target);
    boolean fresh = !target.isInitialized();
    // Parameter shapes are only known after initialisation; a fresh target gets throwaway arrays for that.
    try (NDManager scratch = manager.newSubManager()) {
      if (fresh) {
        target.initialize(scratch, DataType.FLOAT32, saved.inputShape());
      }
      saved.checkParameters(Header.of(target));
      target.loadParameters(manager, data);
    } catch (MalformedModelException e) {
      discardIfFresh(target, fresh);
      throw new IOException("corrupt parameter data: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      discardIfFresh(target, fresh);
      throw e;
    }
    for (Parameter p : target.getParameters().values()) {
      // DJL attaches freshly decoded arrays without gradients; restore what the parameter had before.
      if (p.requiresGradient()) {
        p.getArray().setRequiresGradient(true);
      }
    }
  }

  /** Undoes the initialisation {@code load} did, so that a failed load leaves no closed or half-loaded arrays. */
  private static void discardIfFresh(FeatureClassifier target, boolean fresh) {
    if (fresh) {
      target.clear();
    }
  }

  /**
   * The number of learnable values in an initialised block: weights, biases and BatchNorm scales and shifts, but not
   * BatchNorm running statistics (the convention of published parameter counts).
   */
  public static long countTrainable(Block block) {
    if (!block.isInitialized()) {
      throw new IllegalStateException("parameter shapes are only known after initialisation");
    }
    return block.getParameters().values().stream()
        .filter(p -> p.getType() != Parameter.Type.RUNNING_MEAN && p.getType() != Parameter.Type.RUNNING_VAR)
        .mapToLong(p -> p.getShape().size())
        .sum();
  }

  private record Header(int channels, int numClasses, int featureDim, float[] mean, float[] std, Shape inputShape,
      List<Pair<String, Shape>> parameters) {

    static Header of(FeatureClassifier model) {
      List<Pair<String, Shape>> parameters = new ArrayList<>();
      for (Pair<String, Parameter> p : model.getParameters()) {
        parameters.add(new Pair<>(p.getKey(), p.getValue().getShape()));
      }
      return new Header(model.channels(), model.numClasses(), model.featureDim(), model.mean(), model.std(),
          model.getInputShapes()[0], parameters);
    }

    void write(DataOutputStream out) throws IOException {
      out.writeInt(channels);
      out.writeInt(numClasses);
      out.writeInt(featureDim);
      for (float v : mean) {
        out.writeFloat(v);
      }
      for (float v : std) {
        out.writeFloat(v);
      }
      out.write(inputShape.getEncoded());
      out.writeInt(parameters.size());
      for (Pair<String, Shape> p : parameters) {
        out.writeUTF(p.getKey());
        out.write(p.getValue().getEncoded());
      }
    }

    static Header read(DataInputStream in) throws IOException {
      int channels = in.readInt();
      int numClasses = in.readInt();
      int featureDim = in.readInt();
      if (channels <= 0 || channels > 4096 || numClasses <= 0 || featureDim <= 0) {
        throw new IOException("corrupt parameter header: " + channels + " channels, " + numClasses + " classes, "
            + "featureDim " + featureDim);
      }
      float[] mean = new float[channels];
      float[] std = new float[channels];
      for (int c = 0; c < channels; c++) {
        mean[c] = in.readFloat();
      }
      for (int c = 0; c < channels; c++) {
        std[c] = in.readFloat();
      }
      Shape inputShape = Shape.decode(in);
      int count = in.readInt();
      if (count < 0) {
        throw new IOException("corrupt parameter header: " + count + " parameters");
      }
      List<Pair<String, Shape>> parameters = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        parameters.add(new Pair<>(in.readUTF(), Shape.decode(in)));
      }
      return new Header(channels, numClasses, featureDim, mean, std, inputShape, parameters);
    }

    /** Throws unless the target has the saved model's channels, classes, feature size and normalisation. */
    void checkSettings(FeatureClassifier target) throws IncompatibleParametersException {
      if (channels != target.channels() || numClasses != target.numClasses() || featureDim != target.featureDim()) {
        throw new IncompatibleParametersException("saved model has " + describe(channels, numClasses, featureDim)
            + ", target has " + describe(target.channels(), target.numClasses(), target.featureDim()));
      }
      if (!Arrays.equals(mean, target.mean()) || !Arrays.equals(std, target.std())) {
        throw new IncompatibleParametersException("saved model normalises with mean " + Arrays.toString(mean)
            + ", std " + Arrays.toString(std) + "; target with mean " + Arrays.toString(target.mean()) + ", std "
            + Arrays.toString(target.std()));
      }
    }

    /** Throws unless the saved parameters have the target's names and shapes, in the same order. */
    void checkParameters(Header target) throws IncompatibleParametersException {
      int n = Math.min(parameters.size(), target.parameters.size());
      for (int i = 0; i < n; i++) {
        Pair<String, Shape> s = parameters.get(i);
        Pair<String, Shape> t = target.parameters.get(i);
        if (!s.getKey().equals(t.getKey()) || !s.getValue().equals(t.getValue())) {
          throw new IncompatibleParametersException("saved parameters are of another architecture: parameter #" + i
              + " is " + s.getKey() + " " + s.getValue() + " in the file but " + t.getKey() + " " + t.getValue()
              + " in the target");
        }
      }
      if (parameters.size() != target.parameters.size()) {
        throw new IncompatibleParametersException("saved parameters are of another architecture: " + parameters.size()
            + " parameters in the file, " + target.parameters.size() + " in the target");
      }
    }

    private static String describe(int channels, int numClasses, int featureDim) {
      return channels + " channels, " + numClasses + " classes, featureDim " + featureDim;
    }
  }
}
