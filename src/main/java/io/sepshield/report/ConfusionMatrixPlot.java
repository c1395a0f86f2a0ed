package io.sepshield.report;

import io.sepshield.report.Plot.Style;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.geom.AffineTransform;
import java.awt.geom.Rectangle2D;
import java.util.List;
import java.util.Locale;

/**
 * A K×K confusion matrix (rows: true class, columns: predicted class) as a heat map with the count in each cell.
 * Colour is the share of the row, so classes with few test images are as readable as large ones; a subtitle gives
 * the overall accuracy.
 */
public final class ConfusionMatrixPlot extends Chart<ConfusionMatrixPlot> {
  public static final int DEFAULT_WIDTH = 760;
  public static final int DEFAULT_HEIGHT = 720;

  /** matplotlib's "Blues" colour map, sampled at five stops. */
  private static final int[] BLUES = {0xF7FBFF, 0xC6DBEF, 0x6BAED6, 0x2171B5, 0x08306B};

  private final int[][] counts;
  private final List<String> classNames;

  /**
   * @param counts counts[t][p] = number of images of true class t predicted as p; square, non-negative
   * @param classNames one name per row
   */
  public ConfusionMatrixPlot(int[][] counts, List<String> classNames) {
    super(DEFAULT_WIDTH, DEFAULT_HEIGHT);
    int k = counts.length;
    if (k == 0) {
      throw new IllegalArgumentException("confusion matrix is empty");
    }
    for (int[] row : counts) {
      if (row == null || row.length != k) {
        throw new IllegalArgumentException("confusion matrix must be square: " + k + " rows but a row of "
            + (row == null ? "null" : row.length) + " columns");
      }
      for (int v : row) {
        if (v < 0) {
          throw new IllegalArgumentException("confusion matrix counts must be non-negative: " + v);
        }
      }
    }
    if (classNames.size() != k) {
      throw new IllegalArgumentException(classNames.size() + " class names for a " + k + "x" + k + " matrix");
    }
    this.counts = new int[k][];
    for (int i = 0; i < k; i++) {
      this.counts[i] = counts[i].clone();
    }
    this.classNames = List.copyOf(classNames);
  }

  @Override
  protected void draw(Graphics2D g) {
    Style st = Style.forSize(width, height, DEFAULT_WIDTH, DEFAULT_HEIGHT);
    int k = counts.length;
    int pad = st.px(16);
    int top = Plot.drawTitle(g, st, title, width, pad);

    long total = 0;
    long correct = 0;
    for (int t = 0; t < k; t++) {
      for (int p = 0; p < k; p++) {
        total += counts[t][p];
      }
      correct += counts[t][t];
    }
    g.setFont(st.small());
    FontMetrics smallFm = g.getFontMetrics();
    if (total > 0) {
      g.setColor(Plot.MUTED);
      String subtitle = String.format(Locale.ROOT, "accuracy %.2f%%  (%d of %d)", 100.0 * correct / total, correct,
          total);
      Plot.drawCentered(g, subtitle, width / 2.0, top);
      top += Plot.lineHeight(smallFm) + st.px(6);
    }

    List<String> captionLines = Plot.captionLines(g, st, caption, width - 2 * pad);
    int captionHeight = Plot.captionHeight(g, st, captionLines);
    g.setFont(st.label());
    FontMetrics labelFm = g.getFontMetrics();
    int axisTitle = Plot.lineHeight(labelFm) + st.px(6);

    g.setFont(st.tick());
    FontMetrics tickFm = g.getFontMetrics();
    int maxName = st.px(150); // longer class names are shortened with an ellipsis
    int nameWidth = 0;
    for (String name : classNames) {
      nameWidth = Math.max(nameWidth, Math.min(maxName, Plot.textWidth(tickFm, name)));
    }
    int colorBar = st.px(14) + st.px(8) + Plot.textWidth(tickFm, "100%") + st.px(8) + axisTitle;
    int availWidth = width - 2 * pad - axisTitle - nameWidth - st.px(6) - colorBar - st.px(16);
    int availHeightBase = height - pad - captionHeight - top - st.px(8) - axisTitle - st.px(6);
    // Column names lie flat when they fit the cell, else they stand upright and take nameWidth of height.
    int cell = Math.max(1, Math.min(availWidth, availHeightBase - Plot.lineHeight(tickFm)) / k);
    boolean upright = nameWidth > cell - st.px(4);
    int xNamesHeight = upright ? nameWidth : Plot.lineHeight(tickFm);
    cell = Math.max(1, Math.min(availWidth, availHeightBase - xNamesHeight) / k);
    int grid = cell * k;

    // Spare width goes to both sides of the whole block (axis title, names, grid, colour bar), not between its parts.
    int trueTitleX = pad + Math.max(0, (availWidth - grid) / 2);
    int gridLeft = trueTitleX + axisTitle + nameWidth + st.px(6);
    int gridTop = top + st.px(8);

    // Cells.
    int countSize = (int) Math.min(st.px(15), cell * 0.34);
    g.setFont(st.sans(java.awt.Font.PLAIN, countSize / st.scale));
    FontMetrics countFm = g.getFontMetrics();
    for (int t = 0; t < k; t++) {
      long rowSum = 0;
      for (int p = 0; p < k; p++) {
        rowSum += counts[t][p];
      }
      for (int p = 0; p < k; p++) {
        double share = rowSum == 0 ? 0 : counts[t][p] / (double) rowSum;
        int x = gridLeft + p * cell;
        int y = gridTop + t * cell;
        g.setColor(blues(share));
        g.fillRect(x, y, cell, cell);
        String text = Integer.toString(counts[t][p]);
        // Counts are skipped when the cells are too small to read them (many classes).
        if (countSize >= 7 && Plot.textWidth(countFm, text) <= cell - 2) {
          g.setColor(share > 0.5 ? Color.WHITE : Plot.TEXT);
          Plot.drawCentered(g, text, x + cell / 2.0, y + (cell - Plot.lineHeight(countFm)) / 2.0);
        }
      }
    }
    g.setColor(Plot.AXIS);
    g.setStroke(new BasicStroke(st.stroke(1.2)));
    g.draw(new Rectangle2D.Double(gridLeft, gridTop, grid, grid));

    // Class names: true classes left of the rows, predicted classes under the columns.
    // With many classes the names would overlap: label every stride-th class only.
    int stride = (int) Math.ceil((Plot.lineHeight(tickFm) + 1.0) / cell);
    g.setFont(st.tick());
    g.setColor(Plot.TEXT);
    for (int i = 0; i < k; i += stride) {
      String name = Plot.fit(tickFm, classNames.get(i), maxName);
      int w = Plot.textWidth(tickFm, name);
      Plot.drawText(g, name, gridLeft - st.px(6) - w, gridTop + i * cell + (cell - Plot.lineHeight(tickFm)) / 2.0);
      double cx = gridLeft + (i + 0.5) * cell;
      int namesTop = gridTop + grid + st.px(4);
      if (upright) {
        AffineTransform saved = g.getTransform();
        g.translate(cx, namesTop + w);
        g.rotate(-Math.PI / 2);
        g.drawString(name, 0f, (float) ((tickFm.getAscent() - tickFm.getDescent()) / 2.0));
        g.setTransform(saved);
      } else {
        Plot.drawCentered(g, name, cx, namesTop);
      }
    }
    g.setFont(st.label());
    Plot.drawCentered(g, "predicted class", gridLeft + grid / 2.0, gridTop + grid + st.px(4) + xNamesHeight
        + st.px(6));
    Plot.drawVertical(g, "true class", trueTitleX + Plot.lineHeight(labelFm) / 2.0, gridTop + grid / 2.0);

    drawColorBar(g, st, gridLeft + grid + st.px(14), gridTop, grid, tickFm);
    Plot.drawCaption(g, st, captionLines, pad, height - pad, width - 2 * pad);
  }

  /** Colour scale 0..100 % of the row, with its title beside it. */
  private static void drawColorBar(Graphics2D g, Style st, int x, int top, int length, FontMetrics tickFm) {
    int barWidth = st.px(14);
    for (int i = 0; i < length; i++) {
      g.setColor(blues(1 - i / (double) Math.max(1, length - 1)));
      g.fillRect(x, top + i, barWidth, 1);
    }
    g.setColor(Plot.AXIS);
    g.setStroke(new BasicStroke(1f));
    g.drawRect(x, top, barWidth, length);
    g.setFont(st.tick());
    for (int pct = 0; pct <= 100; pct += 25) {
      double y = top + length - pct / 100.0 * length;
      g.setColor(Plot.AXIS);
      g.drawLine(x + barWidth, (int) Math.round(y), x + barWidth + st.px(4), (int) Math.round(y));
      g.setColor(Plot.TEXT);
      Plot.drawText(g, pct + "%", x + barWidth + st.px(7), y - Plot.lineHeight(tickFm) / 2.0);
    }
    g.setFont(st.label());
    int labelX = x + barWidth + st.px(8) + Plot.textWidth(tickFm, "100%") + st.px(6);
    Plot.drawVertical(g, "share of true class", labelX + Plot.lineHeight(g.getFontMetrics()) / 2.0,
        top + length / 2.0);
  }

  /** Piecewise-linear interpolation in the Blues map; share in [0, 1]. */
  static Color blues(double share) {
    double s = Math.max(0, Math.min(1, share)) * (BLUES.length - 1);
    int i = Math.min(BLUES.length - 2, (int) Math.floor(s));
    double f = s - i;
    int a = BLUES[i];
    int b = BLUES[i + 1];
    return new Color(mix(a >> 16, b >> 16, f), mix(a >> 8, b >> 8, f), mix(a, b, f));
  }

  private static int mix(int a, int b, double f) {
    return (int) Math.round((a & 0xFF) * (1 - f) + (b & 0xFF) * f);
  }
}
