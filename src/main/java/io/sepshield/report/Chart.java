package io.sepshield.report;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;

/**
 * A figure drawn on a canvas of a chosen size (line and bar charts, confusion matrices), as opposed to one whose size
 * follows its content.
 */
abstract class Chart<T extends Chart<T>> extends Figure<T> {
  protected int width;
  protected int height;

  protected Chart(int width, int height) {
    this.width = width;
    this.height = height;
  }

  public T size(int width, int height) {
    this.width = checkSize(width, "width");
    this.height = checkSize(height, "height");
    return self();
  }

  @Override
  public BufferedImage render() {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = Plot.canvas(image);
    try {
      draw(g);
    } finally {
      g.dispose();
    }
    return image;
  }

  /** Draws onto the prepared canvas of {@code width} x {@code height}. */
  protected abstract void draw(Graphics2D g);
}
