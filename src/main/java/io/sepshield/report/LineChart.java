package io.sepshield.report;

import io.sepshield.report.Plot.Axis;
import io.sepshield.report.Plot.LegendEntry;
import io.sepshield.report.Plot.Style;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.util.ArrayList;
import java.util.List;

/**
 * Named series of (x, y) points as lines with markers, e.g. test accuracy per epoch for several models.
 *
 * <pre>{@code
 * new LineChart().title("Test accuracy").xLabel("epoch").yLabel("accuracy (%)").yRange(0, 100)
 *     .series("clean", epochs, cleanAcc).series("protected", epochs, protectedAcc)
 *     .caption("sep-shield train --arch resnet18 --seed 7")
 *     .write(Path.of("runs/accuracy.png"));
 * }</pre>
 *
 * NaN y values leave a gap in the line.
 */
public final class LineChart extends AxisChart<LineChart> {
  public static final int DEFAULT_WIDTH = 900;
  public static final int DEFAULT_HEIGHT = 560;

  /** Markers clutter dense series; by default they are drawn only up to this many points per series. */
  private static final int AUTO_MARKER_LIMIT = 60;

  private record Series(String name, double[] x, double[] y) {}

  private final List<Series> series = new ArrayList<>();
  private Boolean markers;

  public LineChart() {
    super(DEFAULT_WIDTH, DEFAULT_HEIGHT);
  }

  /** Adds a series; x and y must have the same length. */
  public LineChart series(String name, double[] x, double[] y) {
    if (x.length != y.length) {
      throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values, " + y.length + " y values");
    }
    for (double v : x) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("series '" + name + "': x values must be finite");
      }
    }
    series.add(new Series(name, x.clone(), y.clone()));
    return this;
  }

  /** Adds a series with x = 1, 2, ..., n (epochs). */
  public LineChart series(String name, double[] y) {
    double[] x = new double[y.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i + 1;
    }
    return series(name, x, y);
  }

  /** Forces markers on or off (default: on for series of at most 60 points). */
  public LineChart markers(boolean on) {
    this.markers = on;
    return this;
  }

  @Override
  protected void draw(Graphics2D g) {
    Style st = Style.forSize(width, height, DEFAULT_WIDTH, DEFAULT_HEIGHT);
    int pad = st.px(16);

    // Vertical layout: title, legend, plot, x ticks, x label, caption.
    int top = Plot.drawTitle(g, st, title, width, pad);
    List<LegendEntry> legend = new ArrayList<>();
    for (int i = 0; i < series.size(); i++) {
      legend.add(new LegendEntry(series.get(i).name(), Plot.color(i), showMarkers(series.get(i)) ? i : -1, false));
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
    int tickLength = st.px(5);
    int bottom = height - pad - captionHeight - (xLabel.isBlank() ? 0 : Plot.lineHeight(labelFm) + st.px(4))
        - Plot.lineHeight(tickFm) - tickLength - st.px(6);
    int plotTop = top + st.px(8);
    int plotHeight = Math.max(st.px(40), bottom - plotTop);

    // Y axis first: the width of its tick labels decides where the plot starts.
    Axis yAxis = yAxis(plotHeight, st);
    int yTickWidth = 0;
    for (double t : yAxis.ticks()) {
      yTickWidth = Math.max(yTickWidth, Plot.textWidth(tickFm, yAxis.label(t)));
    }
    int left = pad + (yLabel.isBlank() ? 0 : Plot.lineHeight(labelFm) + st.px(8)) + yTickWidth + tickLength
        + st.px(6);
    int right = width - pad - st.px(12); // room for the last x tick label to hang over
    Rectangle plot = new Rectangle(left, plotTop, Math.max(st.px(40), right - left), plotHeight);
    Axis xAxis = xAxis(plot.width, st);

    drawAxes(g, st, plot, xAxis, yAxis, tickFm, tickLength);
    drawSeries(g, st, plot, xAxis, yAxis);

    // Axis labels.
    g.setFont(st.label());
    g.setColor(Plot.TEXT);
    if (!xLabel.isBlank()) {
      int y = plot.y + plot.height + tickLength + st.px(6) + Plot.lineHeight(tickFm) + st.px(4);
      Plot.drawCentered(g, xLabel, plot.getCenterX(), y);
    }
    if (!yLabel.isBlank()) {
      Plot.drawVertical(g, yLabel, pad + Plot.lineHeight(labelFm) / 2.0, plot.getCenterY());
    }
    Plot.drawLegend(g, st, legend, width / 2.0, legendTop, width - 2 * pad);
    Plot.drawCaption(g, st, captionLines, pad, height - pad, width - 2 * pad);
  }

  private boolean showMarkers(Series s) {
    return markers != null ? markers : s.x().length <= AUTO_MARKER_LIMIT;
  }

  private Axis yAxis(int plotHeight, Style st) {
    int target = Plot.tickTarget(plotHeight, st.px(55));
    if (yMin != null) {
      return Axis.of(yMin, yMax, target, true, false);
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (double v : s.y()) {
        if (Double.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo > hi) {
      lo = 0;
      hi = 1;
    }
    return Axis.of(lo, hi, target, false, false);
  }

  private Axis xAxis(int plotWidth, Style st) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    boolean integer = true;
    for (Series s : series) {
      for (double v : s.x()) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        integer &= v == Math.rint(v);
      }
    }
    if (lo > hi) {
      lo = 0;
      hi = 1;
    }
    return Axis.of(lo, hi, Plot.tickTarget(plotWidth, st.px(90)), false, integer);
  }

  private static void drawAxes(Graphics2D g, Style st, Rectangle plot, Axis xAxis, Axis yAxis, FontMetrics tickFm,
      int tickLength) {
    g.setFont(st.tick());
    BasicStroke thin = new BasicStroke(1f);
    for (double t : yAxis.ticks()) {
      double y = toY(t, plot, yAxis);
      g.setColor(Plot.GRID);
      g.setStroke(thin);
      g.draw(new Line2D.Double(plot.x, y, plot.x + plot.width, y));
      g.setColor(Plot.AXIS);
      g.draw(new Line2D.Double(plot.x - tickLength, y, plot.x, y));
      String label = yAxis.label(t);
      g.setColor(Plot.TEXT);
      Plot.drawText(g, label, plot.x - tickLength - st.px(4) - Plot.textWidth(tickFm, label),
          y - Plot.lineHeight(tickFm) / 2.0);
    }
    for (double t : xAxis.ticks()) {
      double x = toX(t, plot, xAxis);
      g.setColor(Plot.GRID);
      g.setStroke(thin);
      g.draw(new Line2D.Double(x, plot.y, x, plot.y + plot.height));
      g.setColor(Plot.AXIS);
      g.draw(new Line2D.Double(x, plot.y + plot.height, x, plot.y + plot.height + tickLength));
      g.setColor(Plot.TEXT);
      Plot.drawCentered(g, xAxis.label(t), x, plot.y + plot.height + tickLength + st.px(4));
    }
    g.setColor(Plot.AXIS);
    g.setStroke(new BasicStroke(st.stroke(1.2)));
    g.draw(plot);
  }

  private void drawSeries(Graphics2D g, Style st, Rectangle plot, Axis xAxis, Axis yAxis) {
    // Clip a little outside the frame so markers on the border (100 %, last epoch) are not cut in half.
    int slack = st.px(6);
    g.setClip(plot.x - slack, plot.y - slack, plot.width + 2 * slack, plot.height + 2 * slack);
    BasicStroke line = new BasicStroke(st.stroke(2.2), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      Color color = Plot.color(i);
      g.setColor(color);
      g.setStroke(line);
      Path2D.Double path = new Path2D.Double();
      boolean penDown = false;
      for (int k = 0; k < s.x().length; k++) {
        if (!Double.isFinite(s.y()[k])) {
          penDown = false;
          continue;
        }
        double x = toX(s.x()[k], plot, xAxis);
        double y = toY(s.y()[k], plot, yAxis);
        if (penDown) {
          path.lineTo(x, y);
        } else {
          path.moveTo(x, y);
          penDown = true;
        }
      }
      g.draw(path);
      if (showMarkers(s)) {
        for (int k = 0; k < s.x().length; k++) {
          if (Double.isFinite(s.y()[k])) {
            Plot.drawMarker(g, i, toX(s.x()[k], plot, xAxis), toY(s.y()[k], plot, yAxis), st.px(7));
          }
        }
      }
    }
    g.setClip(null);
  }

  private static double toX(double v, Rectangle plot, Axis axis) {
    return plot.x + (v - axis.min()) / (axis.max() - axis.min()) * plot.width;
  }

  private static double toY(double v, Rectangle plot, Axis axis) {
    return plot.y + plot.height - (v - axis.min()) / (axis.max() - axis.min()) * plot.height;
  }
}
