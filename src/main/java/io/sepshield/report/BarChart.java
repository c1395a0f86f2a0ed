package io.sepshield.report;

import io.sepshield.report.Plot.Axis;
import io.sepshield.report.Plot.LegendEntry;
import io.sepshield.report.Plot.Style;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.geom.AffineTransform;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Grouped bars: one group per category, one bar per series, each labelled with its value, e.g. test accuracy per
 * architecture for a clean-trained and a protected model.
 *
 * <pre>{@code
 * new BarChart().title("Test accuracy by architecture").yLabel("accuracy (%)").yRange(0, 100)
 *     .categories("ResNet-18", "VGG-16", "DenseNet-121")
 *     .series("trained on clean", 93.1, 91.8, 94.0)
 *     .series("trained on protected", 14.2, 17.5, 12.9)
 *     .write(Path.of("runs/transfer.png"));
 * }</pre>
 *
 * A NaN value draws no bar and the label "n/a".
 */
public final class BarChart extends AxisChart<BarChart> {
  public static final int DEFAULT_WIDTH = 900;
  public static final int DEFAULT_HEIGHT = 560;

  private record Series(String name, double[] values) {}

  private final List<String> categories = new ArrayList<>();
  private final List<Series> series = new ArrayList<>();
  private String valueFormat = "%.1f";

  public BarChart() {
    super(DEFAULT_WIDTH, DEFAULT_HEIGHT);
  }

  /** The groups along the x axis; set them before adding series. */
  public BarChart categories(String... names) {
    return categories(Arrays.asList(names));
  }

  public BarChart categories(List<String> names) {
    if (!series.isEmpty()) {
      throw new IllegalStateException("set the categories before adding series");
    }
    categories.clear();
    categories.addAll(names);
    return this;
  }

  /** Adds a series with one value per category, in category order. */
  public BarChart series(String name, double... values) {
    if (values.length != categories.size()) {
      throw new IllegalArgumentException("series '" + name + "' has " + values.length + " values for "
          + categories.size() + " categories");
    }
    series.add(new Series(name, values.clone()));
    return this;
  }

  /** Format of the value labels ({@link String#format} with one double, root locale); default "%.1f". */
  public BarChart valueFormat(String format) {
    String.format(Locale.ROOT, format, 1.0); // fail here, not at render time
    this.valueFormat = format;
    return this;
  }

  @Override
  protected void draw(Graphics2D g) {
    Style st = Style.forSize(width, height, DEFAULT_WIDTH, DEFAULT_HEIGHT);
    int pad = st.px(16);
    int top = Plot.drawTitle(g, st, title, width, pad);
    List<LegendEntry> legend = new ArrayList<>();
    for (int i = 0; i < series.size(); i++) {
      legend.add(new LegendEntry(series.get(i).name(), Plot.color(i), -1, true));
    }
    int legendTop = top;
    int legendHeight = Plot.legendHeight(g, st, legend, width - 2 * pad);
    top += legendHeight + (legendHeight > 0 ? st.px(6) : 0);

    List<String> captionLines = Plot.captionLines(g, st, caption, width - 2 * pad);
    int captionHeight = Plot.captionHeight(g, st, captionLines);
    g.setFont(st.tick());
    FontMetrics tickFm = g.getFontMetrics();
    g.setFont(st.label());
    FontMetrics labelFm = g.getFontMetrics();

    // The category labels wrap to the group width; the width depends on the y tick labels, so estimate the left
    // margin from the widest tick label of a provisional axis first.
    int tickLength = st.px(5);
    int plotTop = top + st.px(10);
    int provisionalHeight = Math.max(st.px(40), height - pad - captionHeight - plotTop - st.px(60));
    Axis yAxis = yAxis(provisionalHeight, st);
    int yTickWidth = 0;
    for (double t : yAxis.ticks()) {
      yTickWidth = Math.max(yTickWidth, Plot.textWidth(tickFm, yAxis.label(t)));
    }
    int left = pad + (yLabel.isBlank() ? 0 : Plot.lineHeight(labelFm) + st.px(8)) + yTickWidth + tickLength
        + st.px(6);
    int plotWidth = Math.max(st.px(40), width - pad - left);
    int n = Math.max(1, categories.size());
    double groupWidth = plotWidth / (double) n;
    g.setFont(st.label());
    List<List<String>> categoryLines = new ArrayList<>();
    int maxCategoryLines = 1;
    for (String c : categories) {
      List<String> lines = Plot.wrap(labelFm, c, (int) Math.max(st.px(20), groupWidth - st.px(8)), 3);
      categoryLines.add(lines);
      maxCategoryLines = Math.max(maxCategoryLines, lines.size());
    }
    int categoryHeight = maxCategoryLines * Plot.lineHeight(labelFm);
    int bottom = height - pad - captionHeight - (xLabel.isBlank() ? 0 : Plot.lineHeight(labelFm) + st.px(6))
        - categoryHeight - tickLength - st.px(6);
    Rectangle plot = new Rectangle(left, plotTop, plotWidth, Math.max(st.px(40), bottom - plotTop));
    yAxis = yAxis(plot.height, st);

    // Grid and y ticks.
    g.setFont(st.tick());
    g.setStroke(new BasicStroke(1f));
    for (double t : yAxis.ticks()) {
      double y = toY(t, plot, yAxis);
      g.setColor(Plot.GRID);
      g.draw(new Line2D.Double(plot.x, y, plot.x + plot.width, y));
      g.setColor(Plot.AXIS);
      g.draw(new Line2D.Double(plot.x - tickLength, y, plot.x, y));
      String label = yAxis.label(t);
      g.setColor(Plot.TEXT);
      Plot.drawText(g, label, plot.x - tickLength - st.px(4) - Plot.textWidth(tickFm, label),
          y - Plot.lineHeight(tickFm) / 2.0);
    }

    // Bars fill 80 % of each group so groups stay visibly apart.
    double baseline = toY(Math.max(yAxis.min(), Math.min(yAxis.max(), 0)), plot, yAxis);
    double barWidth = groupWidth * 0.8 / Math.max(1, series.size());
    g.setClip(plot);
    for (int c = 0; c < categories.size(); c++) {
      double groupLeft = plot.x + c * groupWidth + groupWidth * 0.1;
      for (int s = 0; s < series.size(); s++) {
        double v = series.get(s).values()[c];
        if (!Double.isFinite(v)) {
          continue;
        }
        double y = toY(v, plot, yAxis);
        double x = groupLeft + s * barWidth;
        g.setColor(Plot.color(s));
        // A hair of white between neighbouring bars keeps same-coloured edges apart.
        g.fill(new Rectangle2D.Double(x + 0.5, Math.min(y, baseline), Math.max(1, barWidth - 1),
            Math.abs(baseline - y)));
      }
    }
    g.setClip(null);
    drawValueLabels(g, st, plot, yAxis, groupWidth, barWidth, baseline);

    // Frame, baseline and category labels.
    g.setColor(Plot.AXIS);
    g.setStroke(new BasicStroke(st.stroke(1.2)));
    g.draw(plot);
    g.draw(new Line2D.Double(plot.x, baseline, plot.x + plot.width, baseline));
    g.setFont(st.label());
    g.setColor(Plot.TEXT);
    for (int c = 0; c < categories.size(); c++) {
      double cx = plot.x + (c + 0.5) * groupWidth;
      int y = plot.y + plot.height + tickLength + st.px(4);
      for (String line : categoryLines.get(c)) {
        Plot.drawCentered(g, line, cx, y);
        y += Plot.lineHeight(labelFm);
      }
    }
    if (!xLabel.isBlank()) {
      Plot.drawCentered(g, xLabel, plot.getCenterX(),
          plot.y + plot.height + tickLength + st.px(10) + categoryHeight);
    }
    if (!yLabel.isBlank()) {
      Plot.drawVertical(g, yLabel, pad + Plot.lineHeight(labelFm) / 2.0, plot.getCenterY());
    }
    Plot.drawLegend(g, st, legend, width / 2.0, legendTop, width - 2 * pad);
    Plot.drawCaption(g, st, captionLines, pad, height - pad, width - 2 * pad);
  }

  /**
   * Value labels sit just beyond the bar end, turned upright when wider than the bar. Where that would leave the
   * plot (a bar at the top of a fixed range) the label goes inside the bar end in white.
   */
  private void drawValueLabels(Graphics2D g, Style st, Rectangle plot, Axis yAxis, double groupWidth,
      double barWidth, double baseline) {
    g.setFont(st.small());
    FontMetrics fm = g.getFontMetrics();
    int gap = st.px(3);
    for (int c = 0; c < categories.size(); c++) {
      double groupLeft = plot.x + c * groupWidth + groupWidth * 0.1;
      for (int s = 0; s < series.size(); s++) {
        double v = series.get(s).values()[c];
        String text = Double.isFinite(v) ? String.format(Locale.ROOT, valueFormat, v) : "n/a";
        double cx = groupLeft + (s + 0.5) * barWidth;
        double end = Double.isFinite(v) ? clampY(toY(v, plot, yAxis), plot) : baseline;
        boolean up = !Double.isFinite(v) || end <= baseline;
        int textWidth = Plot.textWidth(fm, text);
        int textHeight = Plot.lineHeight(fm);
        boolean rotated = textWidth > barWidth + gap;
        // Extent of the label along the bar direction.
        int along = rotated ? textWidth : textHeight;
        double barLength = Math.abs(baseline - end);
        boolean outsideFits = up ? end - gap - along >= plot.y : end + gap + along <= plot.y + plot.height;
        boolean inside = !outsideFits && barLength >= along + 2 * gap;
        double start; // the label's edge nearest the bar end, on the side where it is drawn
        if (inside) {
          start = up ? end + gap : end - gap - along;
          g.setColor(Color.WHITE);
        } else {
          start = up ? end - gap - along : end + gap;
          g.setColor(Plot.TEXT);
        }
        if (rotated) {
          AffineTransform saved = g.getTransform();
          g.translate(cx, start + along);
          g.rotate(-Math.PI / 2);
          g.drawString(text, 0f, (float) ((fm.getAscent() - fm.getDescent()) / 2.0));
          g.setTransform(saved);
        } else {
          Plot.drawCentered(g, text, cx, start);
        }
      }
    }
  }

  private Axis yAxis(int plotHeight, Style st) {
    int target = Plot.tickTarget(plotHeight, st.px(55));
    if (yMin != null) {
      return Axis.of(yMin, yMax, target, true, false);
    }
    // Bars start at zero, so zero is always on the axis; headroom keeps value labels inside the frame.
    double lo = 0;
    double hi = 0;
    for (Series s : series) {
      for (double v : s.values()) {
        if (Double.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo == hi) {
      hi = 1;
    }
    double span = hi - lo;
    return Axis.of(lo < 0 ? lo - 0.08 * span : lo, hi > 0 ? hi + 0.08 * span : hi, target, false, false);
  }

  private static double toY(double v, Rectangle plot, Axis axis) {
    return plot.y + plot.height - (v - axis.min()) / (axis.max() - axis.min()) * plot.height;
  }

  private static double clampY(double y, Rectangle plot) {
    return Math.max(plot.y, Math.min(plot.y + plot.height, y));
  }
}
