package io.sepshield.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.category.StatisticalBarRenderer;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.title.Title;
import org.jfree.chart.ui.HorizontalAlignment;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.statistics.DefaultStatisticalCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The report's figures, drawn by JFreeChart: accuracy curves (with a ± sd band over repeated runs), grouped bars
 * (with sd error bars) and confusion matrices (a block heat map). Every figure carries a caption at the bottom, a
 * {@link TextTitle} in a monospaced font, that records the exact command, settings and seeds behind it.
 *
 * <p>Figures render headless ({@code java.awt.headless=true} unless the application chose otherwise) and are
 * written as PNG.
 */
public final class Charts {
  static {
    Png.assumeHeadless();
  }

  public static final int WIDTH = 900;
  public static final int HEIGHT = 560;
  public static final int CONFUSION_WIDTH = 760;
  public static final int CONFUSION_HEIGHT = 760;

  /** The block id of a figure's caption: tests and tools find it among the chart's subtitles by it. */
  public static final String CAPTION_ID = "caption";
  static final int CAPTION_MAX_LINES = 12;

  static final Color TEXT = new Color(0x22, 0x22, 0x22);
  static final Color MUTED = new Color(0x55, 0x55, 0x55);
  static final Color GRID = new Color(0xDD, 0xDD, 0xDD);

  /** Tableau 10 (matplotlib's default cycle): distinct, and familiar from papers. */
  private static final int[] PALETTE = {
    0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF
  };

  /** matplotlib's "Blues" colour map at five stops, for the confusion matrix. */
  private static final int[] BLUES = {0xF7FBFF, 0xC6DBEF, 0x6BAED6, 0x2171B5, 0x08306B};

  private Charts() {}

  /**
   * One line of a line chart.
   *
   * @param sd standard deviation per point (drawn as a shaded band), or null
   * @param dashed drawn dashed (e.g. the clean-trained reference next to solid protected-trained curves)
   */
  public record Curve(String name, double[] x, double[] y, double[] sd, boolean dashed) {
    public Curve {
      if (x.length != y.length || (sd != null && sd.length != y.length)) {
        throw new IllegalArgumentException("curve '" + name + "': " + x.length + " x values, " + y.length
            + " y values" + (sd == null ? "" : ", " + sd.length + " sd values"));
      }
      for (double v : x) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException("curve '" + name + "': x values must be finite");
        }
      }
      x = x.clone();
      y = y.clone();
      sd = sd == null ? null : sd.clone();
    }

    /** y at x = 1, 2, ..., n (epochs). */
    public static Curve of(String name, double[] y) {
      double[] x = new double[y.length];
      for (int i = 0; i < x.length; i++) {
        x[i] = i + 1;
      }
      return new Curve(name, x, y, null, false);
    }

    public Curve withSd(double[] sd) {
      return new Curve(name, x, y, sd, dashed);
    }

    public Curve asDashed() {
      return new Curve(name, x, y, sd, true);
    }
  }

  /**
   * One series of a grouped bar chart: a value per category (NaN: no bar) and optionally its sd (error bar).
   */
  public record Bars(String name, double[] mean, double[] sd) {
    public Bars {
      if (sd != null && sd.length != mean.length) {
        throw new IllegalArgumentException("bars '" + name + "': " + mean.length + " values, " + sd.length + " sd");
      }
      mean = mean.clone();
      sd = sd == null ? null : sd.clone();
    }
  }

  /**
   * Lines with markers over a numeric x axis (whole numbers, for epochs); NaN y values are left out.
   *
   * @param yRange {min, max}, e.g. {0, 100} for accuracy in percent so figures compare at a glance; null: automatic
   */
  public static JFreeChart lines(String title, String xLabel, String yLabel, double[] yRange, List<Curve> curves,
      String caption) {
    YIntervalSeriesCollection data = new YIntervalSeriesCollection();
    for (Curve c : curves) {
      // Keys must be unique; a repeated name gets an invisible suffix rather than silently merging two curves.
      String key = c.name();
      while (data.indexOf(key) >= 0) {
        key += " ";
      }
      YIntervalSeries s = new YIntervalSeries(key, false, true);
      for (int i = 0; i < c.y().length; i++) {
        if (Double.isFinite(c.y()[i])) {
          double sd = c.sd() == null || !Double.isFinite(c.sd()[i]) ? 0 : c.sd()[i];
          s.add(c.x()[i], c.y()[i], c.y()[i] - sd, c.y()[i] + sd);
        }
      }
      data.addSeries(s);
    }
    NumberAxis x = new NumberAxis(xLabel);
    x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    x.setAutoRangeIncludesZero(false);
    NumberAxis y = valueAxis(yLabel, yRange);
    // DeviationRenderer: XYLineAndShapeRenderer plus a translucent band from each point's y-interval (± sd).
    DeviationRenderer renderer = new DeviationRenderer(true, curves.stream().allMatch(c -> c.x().length <= 60));
    renderer.setAlpha(0.18f);
    for (int i = 0; i < curves.size(); i++) {
      Color color = color(i);
      renderer.setSeriesPaint(i, color);
      renderer.setSeriesFillPaint(i, color);
      renderer.setSeriesStroke(i, curves.get(i).dashed()
          ? new BasicStroke(2.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 5f}, 0f)
          : new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    }
    XYPlot plot = new XYPlot(data, x, y, renderer);
    JFreeChart chart = new JFreeChart(title, titleFont(), plot, true);
    style(chart);
    gridlines(plot);
    return withCaption(chart, caption);
  }

  /**
   * Grouped bars: one group per category, one bar per series, the value printed on each bar, and an error bar of
   * ± sd where the series has one.
   */
  public static JFreeChart bars(String title, String xLabel, String yLabel, double[] yRange, List<String> categories,
      List<Bars> series, String caption) {
    DefaultStatisticalCategoryDataset data = new DefaultStatisticalCategoryDataset();
    for (Bars b : series) {
      if (b.mean().length != categories.size()) {
        throw new IllegalArgumentException("bars '" + b.name() + "': " + b.mean().length + " values for "
            + categories.size() + " categories");
      }
      for (int i = 0; i < categories.size(); i++) {
        double m = b.mean()[i];
        // StatisticalBarRenderer draws no bar for a null mean and no error bar for a null sd.
        Double sd = b.sd() == null || !Double.isFinite(m) ? null : b.sd()[i];
        data.add(Double.isFinite(m) ? m : null, sd, b.name(), categories.get(i));
      }
    }
    StatisticalBarRenderer renderer = new StatisticalBarRenderer();
    renderer.setBarPainter(new StandardBarPainter());
    renderer.setShadowVisible(false);
    renderer.setDrawBarOutline(false);
    renderer.setItemMargin(0.06);
    renderer.setErrorIndicatorPaint(TEXT);
    renderer.setErrorIndicatorStroke(new BasicStroke(1.4f));
    // Values inside the foot of each bar, away from the error bars drawn over the bar's end.
    renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.0")));
    renderer.setDefaultItemLabelsVisible(true);
    renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.BOLD, 11));
    renderer.setDefaultItemLabelPaint(Color.WHITE);
    renderer.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.INSIDE6,
        TextAnchor.BOTTOM_CENTER));
    renderer.setItemLabelAnchorOffset(4);
    return categoryChart(title, data, renderer, series.size(), xLabel, 0.25, valueAxis(yLabel, yRange),
        PlotOrientation.VERTICAL, caption);
  }

  /** A bar chart's plot and frame: series coloured in order, light value gridlines, the caption below. */
  private static JFreeChart categoryChart(String title, org.jfree.data.category.CategoryDataset data,
      org.jfree.chart.renderer.category.BarRenderer renderer, int seriesCount, String xLabel, double categoryMargin,
      NumberAxis y, PlotOrientation orientation, String caption) {
    for (int i = 0; i < seriesCount; i++) {
      renderer.setSeriesPaint(i, color(i));
    }
    org.jfree.chart.axis.CategoryAxis x = new org.jfree.chart.axis.CategoryAxis(xLabel);
    x.setCategoryMargin(categoryMargin);
    CategoryPlot plot = new CategoryPlot(data, x, y, renderer);
    plot.setOrientation(orientation);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setOutlineVisible(false);
    plot.setRangeGridlinePaint(GRID);
    plot.setRangeGridlineStroke(new BasicStroke(1f));
    plot.setDomainGridlinesVisible(false);
    JFreeChart chart = new JFreeChart(title, titleFont(), plot, true);
    style(chart);
    return withCaption(chart, caption);
  }

  /**
   * Horizontal bars stacked to 100 %: one bar per category, one segment per series in order, the value printed on
   * each segment wide enough to hold it. For shares that add up, such as where a model's test images went.
   */
  public static JFreeChart stacked(String title, String yLabel, List<String> categories, List<Bars> series,
      String caption) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (Bars b : series) {
      if (b.mean().length != categories.size()) {
        throw new IllegalArgumentException("segments '" + b.name() + "': " + b.mean().length + " values for "
            + categories.size() + " bars");
      }
      for (int i = 0; i < categories.size(); i++) {
        data.addValue(b.mean()[i], b.name(), categories.get(i));
      }
    }
    StackedBarRenderer renderer = new StackedBarRenderer();
    renderer.setBarPainter(new StandardBarPainter());
    renderer.setShadowVisible(false);
    renderer.setDrawBarOutline(false);
    renderer.setMaximumBarWidth(0.5);
    // Labels only where the segment has room for them (5 % of the axis).
    renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.0")) {
      @Override
      public String generateLabel(org.jfree.data.category.CategoryDataset dataset, int row, int column) {
        Number v = dataset.getValue(row, column);
        return v == null || v.doubleValue() < 5 ? null : super.generateLabel(dataset, row, column);
      }
    });
    renderer.setDefaultItemLabelsVisible(true);
    renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.BOLD, 11));
    renderer.setDefaultItemLabelPaint(Color.WHITE);
    renderer.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.CENTER,
        TextAnchor.CENTER));
    renderer.setPositiveItemLabelPositionFallback(new ItemLabelPosition(ItemLabelAnchor.CENTER, TextAnchor.CENTER));
    return categoryChart(title, data, renderer, series.size(), null, 0.3, valueAxis(yLabel, new double[] {0, 100}),
        PlotOrientation.HORIZONTAL, caption);
  }

  /**
   * A K×K confusion matrix (rows: true class, top to bottom; columns: predicted class) as a heat map with the count
   * in each cell. Colour is the share of the row, so classes with few test images read like large ones; a subtitle
   * gives the overall accuracy.
   *
   * @param counts counts[t][p] = images of true class t predicted as p; square, non-negative
   */
  public static JFreeChart confusion(String title, int[][] counts, List<String> classNames, String caption) {
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
    double[][] xyz = new double[3][k * k];
    long total = 0;
    long correct = 0;
    XYPlot plot = new XYPlot();
    Font cellFont = new Font(Font.SANS_SERIF, Font.PLAIN, k <= 10 ? 13 : k <= 20 ? 10 : 8);
    for (int t = 0; t < k; t++) {
      long rowSum = 0;
      for (int v : counts[t]) {
        rowSum += v;
      }
      for (int p = 0; p < k; p++) {
        int i = t * k + p;
        double share = rowSum == 0 ? 0 : counts[t][p] / (double) rowSum;
        xyz[0][i] = p;
        xyz[1][i] = t;
        xyz[2][i] = share;
        total += counts[t][p];
        correct += t == p ? counts[t][p] : 0;
        if (k <= 30) {
          XYTextAnnotation n = new XYTextAnnotation(Integer.toString(counts[t][p]), p, t);
          n.setFont(cellFont);
          n.setPaint(share > 0.5 ? Color.WHITE : TEXT);
          plot.addAnnotation(n);
        }
      }
    }
    DefaultXYZDataset data = new DefaultXYZDataset();
    data.addSeries("share of true class", xyz);
    BluesScale scale = new BluesScale();
    XYBlockRenderer renderer = new XYBlockRenderer();
    renderer.setPaintScale(scale);
    String[] names = classNames.toArray(String[]::new);
    SymbolAxis predicted = new SymbolAxis("predicted class", names);
    predicted.setGridBandsVisible(false);
    predicted.setVerticalTickLabels(k > 6 || classNames.stream().anyMatch(n -> n.length() > 8));
    predicted.setRange(-0.5, k - 0.5);
    SymbolAxis truth = new SymbolAxis("true class", names);
    truth.setGridBandsVisible(false);
    truth.setInverted(true); // class 0 at the top, as matrices are read
    truth.setRange(-0.5, k - 0.5);
    plot.setDataset(data);
    plot.setDomainAxis(predicted);
    plot.setRangeAxis(truth);
    plot.setRenderer(renderer);
    plot.setDomainAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
    plot.setDomainGridlinesVisible(false);
    plot.setRangeGridlinesVisible(false);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setOutlineVisible(false);
    JFreeChart chart = new JFreeChart(title, titleFont(), plot, false);
    style(chart);
    TextTitle accuracy = new TextTitle(String.format(Locale.ROOT, "accuracy %.2f%% of %d test images; colour: share "
        + "of the true class", total == 0 ? 0 : 100.0 * correct / total, total),
        new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    accuracy.setPaint(MUTED);
    chart.addSubtitle(accuracy);
    NumberAxis shareAxis = new NumberAxis("share of the true class");
    shareAxis.setRange(0, 1);
    shareAxis.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    PaintScaleLegend legend = new PaintScaleLegend(scale, shareAxis);
    legend.setPosition(RectangleEdge.RIGHT);
    legend.setStripWidth(14);
    legend.setAxisOffset(4);
    legend.setMargin(new RectangleInsets(40, 8, 40, 8));
    legend.setBackgroundPaint(Color.WHITE);
    chart.addSubtitle(legend);
    return withCaption(chart, caption);
  }

  /** Renders the chart and writes it as PNG (creating parent directories); returns the path. */
  public static Path write(JFreeChart chart, Path file, int width, int height) throws IOException {
    Png.write(render(chart, width, height), file);
    return file;
  }

  /** The chart as PNG bytes (e.g. a file inside a bundle). */
  public static byte[] png(JFreeChart chart, int width, int height) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ChartUtils.writeBufferedImageAsPNG(out, render(chart, width, height));
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // an in-memory stream does not fail
    }
  }

  public static BufferedImage render(JFreeChart chart, int width, int height) {
    if (width < 100 || width > 10_000 || height < 100 || height > 10_000) {
      throw new IllegalArgumentException("figure size must be in 100..10000 px: " + width + "x" + height);
    }
    return chart.createBufferedImage(width, height, BufferedImage.TYPE_INT_RGB, null);
  }

  /** The caption the chart carries (empty when none). */
  public static String caption(JFreeChart chart) {
    for (int i = 0; i < chart.getSubtitleCount(); i++) {
      Title t = chart.getSubtitle(i);
      if (t instanceof TextTitle text && CAPTION_ID.equals(text.getID())) {
        return text.getText();
      }
    }
    return "";
  }

  /**
   * Adds the caption at the very bottom, under the legend: small monospaced text (it usually quotes a command line)
   * that wraps at the figure's width, breaking inside a long path where it must.
   */
  static JFreeChart withCaption(JFreeChart chart, String caption) {
    if (caption == null || caption.isBlank()) {
      return chart;
    }
    TextTitle t = new TextTitle(caption.strip(), new Font(Font.MONOSPACED, Font.PLAIN, 11));
    t.setID(CAPTION_ID);
    t.setPaint(MUTED);
    t.setPosition(RectangleEdge.BOTTOM);
    t.setHorizontalAlignment(HorizontalAlignment.LEFT);
    t.setTextAlignment(HorizontalAlignment.LEFT);
    t.setMaximumLinesToDisplay(CAPTION_MAX_LINES);
    t.setPadding(new RectangleInsets(6, 6, 2, 6));
    // Bottom titles are stacked from the edge inwards in list order: first in the list is lowest.
    chart.addSubtitle(0, t);
    return chart;
  }

  static Color color(int i) {
    if (i < PALETTE.length) {
      return new Color(PALETTE[i]);
    }
    // Past the palette, golden-angle hue steps keep neighbouring series apart.
    float hue = (float) ((i * 0.618033988749895) % 1.0);
    return Color.getHSBColor(hue, 0.75f, 0.75f);
  }

  private static Font titleFont() {
    return new Font(Font.SANS_SERIF, Font.BOLD, 17);
  }

  /** White background, readable fonts, the legend as a borderless row under the plot. */
  private static void style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.setPadding(new RectangleInsets(10, 12, 10, 12));
    chart.getTitle().setPaint(TEXT);
    chart.getTitle().setMaximumLinesToDisplay(3);
    LegendTitle legend = chart.getLegend();
    if (legend != null) {
      legend.setFrame(BlockBorder.NONE);
      legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
      legend.setItemPaint(TEXT);
      legend.setPosition(RectangleEdge.BOTTOM);
      legend.setMargin(new RectangleInsets(6, 0, 2, 0));
    }
    var plot = chart.getPlot();
    Font label = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    Font tick = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    if (plot instanceof XYPlot xy) {
      fonts(xy.getDomainAxis(), label, tick);
      fonts(xy.getRangeAxis(), label, tick);
    } else if (plot instanceof CategoryPlot cat) {
      fonts(cat.getDomainAxis(), label, tick);
      fonts(cat.getRangeAxis(), label, tick);
    }
  }

  private static void fonts(org.jfree.chart.axis.Axis axis, Font label, Font tick) {
    axis.setLabelFont(label);
    axis.setTickLabelFont(tick);
    axis.setLabelPaint(TEXT);
    axis.setTickLabelPaint(TEXT);
  }

  /** A value axis; over a fixed 0..100 range (percent) ticks every 10, which reads better than JFreeChart's 5. */
  private static NumberAxis valueAxis(String label, double[] range) {
    NumberAxis y = new NumberAxis(label);
    if (range != null) {
      y.setRange(range[0], range[1]);
      if (range[1] - range[0] == 100) {
        y.setTickUnit(new NumberTickUnit(10));
      }
    }
    return y;
  }

  private static void gridlines(XYPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setOutlineVisible(false);
    plot.setDomainGridlinePaint(GRID);
    plot.setRangeGridlinePaint(GRID);
    plot.setDomainGridlineStroke(new BasicStroke(1f));
    plot.setRangeGridlineStroke(new BasicStroke(1f));
  }

  /** Shares 0..1 through the five "Blues" stops, linearly. JFreeChart's scales are grey or stepped lookups. */
  static final class BluesScale implements PaintScale {
    @Override
    public double getLowerBound() {
      return 0;
    }

    @Override
    public double getUpperBound() {
      return 1;
    }

    @Override
    public Paint getPaint(double value) {
      double v = Double.isFinite(value) ? Math.max(0, Math.min(1, value)) : 0;
      double pos = v * (BLUES.length - 1);
      int i = Math.min(BLUES.length - 2, (int) Math.floor(pos));
      double f = pos - i;
      Color a = new Color(BLUES[i]);
      Color b = new Color(BLUES[i + 1]);
      return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
          (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
          (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }
  }
}
