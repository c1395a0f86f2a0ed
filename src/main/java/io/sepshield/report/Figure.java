package io.sepshield.report;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A figure rendered to a PNG: a title at the top and a footer caption of small text at the bottom, which records the
 * exact command, settings and seed that produced the figure (long captions wrap over several lines; explicit
 * {@code \n} starts a new line).
 *
 * @param <T> the concrete figure type, so that setters chain
 */
public abstract class Figure<T extends Figure<T>> {
  static {
    Png.assumeHeadless();
  }

  protected String title = "";
  protected String caption = "";

  public T title(String title) {
    this.title = title == null ? "" : title;
    return self();
  }

  public T caption(String caption) {
    this.caption = caption == null ? "" : caption;
    return self();
  }

  /** Draws the figure into a new image. */
  public abstract BufferedImage render();

  /** Renders the figure and writes it as PNG (creating parent directories); returns the path for chaining. */
  public Path write(Path path) throws IOException {
    Png.write(render(), path);
    return path;
  }

  @SuppressWarnings("unchecked")
  protected final T self() {
    return (T) this;
  }

  static int checkSize(int value, String what) {
    if (value < 100 || value > 10_000) {
      throw new IllegalArgumentException(what + " must be in 100..10000 px: " + value);
    }
    return value;
  }
}
