package io.sepshield.report;

import io.sepshield.data.LabeledImages;
import io.sepshield.report.StripText.Style;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Point;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A grid of small images, one labelled row per variant, upscaled with nearest neighbour so single pixels stay
 * visible. The intended figure shows a few images clean, protected, and as an amplified difference:
 *
 * <pre>{@code
 * new ImageStrip(4).title("SEP-FA-VR, eps = 8/255")
 *     .row("clean", clean, 0, 1, 2, 3)
 *     .row("protected", protectedSet, 0, 1, 2, 3)
 *     .row("difference x10", diffs)
 *     .write(Path.of("runs/examples.png"));
 * }</pre>
 */
public final class ImageStrip {
  static {
    Png.assumeHeadless();
  }

  /** One image: CHW uint8 pixels with 1 (grey) or 3 (RGB) channels, and an optional caption under it. */
  public record Cell(byte[] chw, int channels, int height, int width, String caption) {
    public Cell {
      if (channels != 1 && channels != 3) {
        throw new IllegalArgumentException("images need 1 or 3 channels, not " + channels);
      }
      if (height <= 0 || width <= 0) {
        throw new IllegalArgumentException("image size must be positive: " + height + "x" + width);
      }
      if (chw.length != channels * height * width) {
        throw new IllegalArgumentException(chw.length + " bytes for a " + channels + "x" + height + "x" + width
            + " image");
      }
      chw = chw.clone(); // the strip renders later; later changes by the caller must not show up
      caption = caption == null ? "" : caption;
    }

    public Cell(byte[] chw, int channels, int height, int width) {
      this(chw, channels, height, width, "");
    }
  }

  private record Row(String label, List<Cell> cells) {}

  private static final Style STYLE = new Style(1.0);

  private final int scale;
  private final List<Row> rows = new ArrayList<>();
  private String title = "";
  private String caption = "";

  /** @param scale integer upscaling factor, e.g. 4 turns 32x32 CIFAR images into 128x128 */
  public ImageStrip(int scale) {
    if (scale < 1 || scale > 64) {
      throw new IllegalArgumentException("scale must be in 1..64: " + scale);
    }
    this.scale = scale;
  }

  public ImageStrip title(String title) {
    this.title = title == null ? "" : title;
    return this;
  }

  /** Small text at the bottom: the exact command, settings and seed behind the figure; {@code \n} breaks a line. */
  public ImageStrip caption(String caption) {
    this.caption = caption == null ? "" : caption;
    return this;
  }

  /** Renders the strip and writes it as PNG (creating parent directories); returns the path. */
  public Path write(Path path) throws IOException {
    Png.write(render(), path);
    return path;
  }

  public ImageStrip row(String label, List<Cell> cells) {
    rows.add(new Row(label == null ? "" : label, List.copyOf(cells)));
    return this;
  }

  /** A row of same-shaped images; captions may be null (none) or hold one caption per image. */
  public ImageStrip row(String label, List<byte[]> images, int channels, int height, int width,
      List<String> captions) {
    if (captions != null && captions.size() != images.size()) {
      throw new IllegalArgumentException(captions.size() + " captions for " + images.size() + " images");
    }
    List<Cell> cells = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      cells.add(new Cell(images.get(i), channels, height, width, captions == null ? "" : captions.get(i)));
    }
    return row(label, cells);
  }

  /** The images at the given indices of a data set, captioned with their class names. */
  public ImageStrip row(String label, LabeledImages images, int... indices) {
    List<Cell> cells = new ArrayList<>();
    for (int i : indices) {
      int y = images.label(i);
      String name = y == LabeledImages.UNKNOWN_LABEL ? "" : images.classNames().get(y);
      cells.add(new Cell(images.image(i), images.channels(), images.height(), images.width(), name));
    }
    return row(label, cells);
  }

  /**
   * 128 + amplification * (perturbed - clean), clipped to 0..255, per byte: grey where nothing changed, so an
   * L-inf perturbation of a few levels becomes visible.
   */
  public static byte[] amplifiedDifference(byte[] clean, byte[] perturbed, int amplification) {
    if (clean.length != perturbed.length) {
      throw new IllegalArgumentException("images differ in size: " + clean.length + " vs " + perturbed.length);
    }
    if (amplification < 1) {
      throw new IllegalArgumentException("amplification must be at least 1: " + amplification);
    }
    byte[] out = new byte[clean.length];
    for (int i = 0; i < out.length; i++) {
      long v = 128L + (long) amplification * ((perturbed[i] & 0xFF) - (clean[i] & 0xFF));
      out[i] = (byte) Math.max(0, Math.min(255, v));
    }
    return out;
  }

  /** A CHW uint8 image as RGB, each pixel repeated scale x scale times (nearest neighbour, no smoothing). */
  public static BufferedImage toImage(byte[] chw, int channels, int height, int width, int scale) {
    Cell cell = new Cell(chw, channels, height, width);
    BufferedImage out = new BufferedImage(width * scale, height * scale, BufferedImage.TYPE_INT_RGB);
    int plane = height * width;
    int[] line = new int[width * scale];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int i = y * width + x;
        int r = cell.chw()[i] & 0xFF;
        int g = channels == 3 ? cell.chw()[plane + i] & 0xFF : r;
        int b = channels == 3 ? cell.chw()[2 * plane + i] & 0xFF : r;
        Arrays.fill(line, x * scale, (x + 1) * scale, (r << 16) | (g << 8) | b);
      }
      for (int dy = 0; dy < scale; dy++) {
        out.setRGB(0, y * scale + dy, width * scale, 1, line, 0, width * scale);
      }
    }
    return out;
  }

  /** Where everything goes; computed once per render and also used by tests to find the images. */
  record Layout(int width, int height, int gridLeft, int gridTop, int[] columnLeft, int[] rowTop, int[] rowHeight,
      int labelWidth, int captionLineHeight, int titleHeight, List<String> captionLines) {
    Point imageOrigin(int row, int column) {
      return new Point(columnLeft[column], rowTop[row]);
    }
  }

  Layout layout(Graphics2D g) {
    Style st = STYLE;
    int pad = st.px(16);
    int gap = st.px(8);
    int columns = 0;
    for (Row r : rows) {
      columns = Math.max(columns, r.cells().size());
    }
    int[] columnWidth = new int[columns];
    boolean anyCaption = false;
    for (Row r : rows) {
      for (int c = 0; c < r.cells().size(); c++) {
        Cell cell = r.cells().get(c);
        columnWidth[c] = Math.max(columnWidth[c], cell.width() * scale);
        anyCaption |= !cell.caption().isBlank();
      }
    }
    g.setFont(st.label());
    FontMetrics labelFm = g.getFontMetrics();
    int labelWidth = 0;
    for (Row r : rows) {
      labelWidth = Math.max(labelWidth, Math.min(st.px(220), StripText.textWidth(labelFm, r.label())));
    }
    g.setFont(st.small());
    int captionLineHeight = anyCaption ? StripText.lineHeight(g.getFontMetrics()) + st.px(2) : 0;

    int gridWidth = Arrays.stream(columnWidth).sum() + Math.max(0, columns - 1) * gap;
    int contentWidth = (labelWidth > 0 ? labelWidth + st.px(12) : 0) + gridWidth;
    // Title and caption need some width to stay legible next to a strip of a few small images.
    int minWidth = title.isBlank() && caption.isBlank() ? 0 : st.px(480);
    int width = Math.max(contentWidth, minWidth) + 2 * pad;

    g.setFont(st.title());
    int titleHeight = title.isBlank() ? 0
        : StripText.wrap(g.getFontMetrics(), title, width - 2 * pad, 3).size() * StripText.lineHeight(g.getFontMetrics())
            + st.px(10);
    List<String> captionLines = StripText.captionLines(g, st, caption, width - 2 * pad);
    int captionHeight = StripText.captionHeight(g, st, captionLines);

    int gridLeft = pad + (width - 2 * pad - contentWidth) / 2 + (labelWidth > 0 ? labelWidth + st.px(12) : 0);
    int gridTop = pad + titleHeight;
    int[] columnLeft = new int[columns];
    for (int c = 0, x = gridLeft; c < columns; c++) {
      columnLeft[c] = x;
      x += columnWidth[c] + gap;
    }
    int[] rowTop = new int[rows.size()];
    int[] rowHeight = new int[rows.size()];
    int y = gridTop;
    for (int r = 0; r < rows.size(); r++) {
      int h = 0;
      for (Cell cell : rows.get(r).cells()) {
        h = Math.max(h, cell.height() * scale);
      }
      rowTop[r] = y;
      rowHeight[r] = h;
      y += h + captionLineHeight + gap;
    }
    int height = y - gap + captionHeight + pad;
    return new Layout(width, height, gridLeft, gridTop, columnLeft, rowTop, rowHeight, labelWidth,
        captionLineHeight, titleHeight, captionLines);
  }

  public BufferedImage render() {
    if (rows.isEmpty()) {
      throw new IllegalStateException("image strip has no rows");
    }
    // Measure on a scratch image: the canvas size depends on the text.
    BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
    Graphics2D mg = StripText.canvas(scratch);
    Layout layout = layout(mg);
    mg.dispose();

    BufferedImage image = new BufferedImage(layout.width(), layout.height(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = StripText.canvas(image);
    try {
      draw(g, layout);
    } finally {
      g.dispose();
    }
    return image;
  }

  private void draw(Graphics2D g, Layout layout) {
    Style st = STYLE;
    int pad = st.px(16);
    StripText.drawTitle(g, st, title, layout.width(), pad);
    g.setFont(st.label());
    FontMetrics labelFm = g.getFontMetrics();
    g.setFont(st.small());
    FontMetrics smallFm = g.getFontMetrics();
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      int top = layout.rowTop()[r];
      for (int c = 0; c < row.cells().size(); c++) {
        Cell cell = row.cells().get(c);
        BufferedImage pixels = toImage(cell.chw(), cell.channels(), cell.height(), cell.width(), scale);
        int x = layout.columnLeft()[c];
        // Drawn 1:1 (already upscaled), so no interpolation can blur the pixels.
        g.drawImage(pixels, x, top, null);
        if (!cell.caption().isBlank()) {
          g.setFont(st.small());
          g.setColor(StripText.MUTED);
          String text = StripText.fit(smallFm, cell.caption(), Math.max(pixels.getWidth(), st.px(24)));
          StripText.drawCentered(g, text, x + pixels.getWidth() / 2.0, top + pixels.getHeight() + st.px(2));
        }
      }
      if (!row.label().isBlank()) {
        g.setFont(st.label());
        g.setColor(StripText.TEXT);
        String text = StripText.fit(labelFm, row.label(), layout.labelWidth());
        int w = StripText.textWidth(labelFm, text);
        StripText.drawText(g, text, layout.gridLeft() - st.px(12) - w,
            top + (layout.rowHeight()[r] - StripText.lineHeight(labelFm)) / 2.0);
      }
    }
    StripText.drawCaption(g, st, layout.captionLines(), pad, layout.height() - pad, layout.width() - 2 * pad);
  }
}
