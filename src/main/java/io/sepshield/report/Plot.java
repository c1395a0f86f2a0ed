package io.sepshield.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Drawing helpers shared by the figures: style, palette, text layout, legend, markers. */
final class Plot {
  private Plot() {}

  static final Color TEXT = new Color(0x22, 0x22, 0x22);
  static final Color MUTED = new Color(0x55, 0x55, 0x55);
  static final Color AXIS = new Color(0x44, 0x44, 0x44);
  static final Color GRID = new Color(0xE3, 0xE3, 0xE3);

  /** Tableau 10 (matplotlib's default cycle): distinct, and familiar from papers. */
  private static final int[] PALETTE = {
    0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF
  };

  static Color color(int i) {
    if (i < PALETTE.length) {
      return new Color(PALETTE[i]);
    }
    // Past the palette, golden-angle hue steps keep neighbouring series apart.
    float hue = (float) ((i * 0.618033988749895) % 1.0);
    return Color.getHSBColor(hue, 0.75f, 0.75f);
  }

  /**
   * Sizes in pixels for a figure of the default size, scaled with the figure so that a larger PNG is not just the
   * same small text on a bigger canvas.
   */
  static final class Style {
    final double scale;

    Style(double scale) {
      this.scale = scale;
    }

    static Style forSize(int width, int height, int defaultWidth, int defaultHeight) {
      double s = Math.min(width / (double) defaultWidth, height / (double) defaultHeight);
      return new Style(Math.max(0.85, Math.min(4.0, s)));
    }

    int px(double v) {
      return (int) Math.round(v * scale);
    }

    float stroke(double v) {
      return (float) (v * scale);
    }

    Font title() {
      return sans(Font.BOLD, 18);
    }

    Font label() {
      return sans(Font.PLAIN, 14);
    }

    Font tick() {
      return sans(Font.PLAIN, 12);
    }

    Font legend() {
      return sans(Font.PLAIN, 13);
    }

    Font small() {
      return sans(Font.PLAIN, 11);
    }

    /** Monospaced, because the caption usually quotes a command line. */
    Font caption() {
      return new Font(Font.MONOSPACED, Font.PLAIN, 1).deriveFont((float) (11 * scale));
    }

    Font sans(int style, double size) {
      return new Font(Font.SANS_SERIF, style, 1).deriveFont((float) (size * scale));
    }
  }

  /** A white RGB canvas with anti-aliased shapes and text. */
  static Graphics2D canvas(BufferedImage image) {
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
    g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
    g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, image.getWidth(), image.getHeight());
    return g;
  }

  // ---------------------------------------------------------------- text

  static int textWidth(FontMetrics fm, String s) {
    // Measure with the metrics' own render context (fractional metrics): the default one is off by a few percent.
    return (int) Math.ceil(fm.getFont().getStringBounds(s, fm.getFontRenderContext()).getWidth());
  }

  static int lineHeight(FontMetrics fm) {
    return fm.getAscent() + fm.getDescent();
  }

  /** Draws s with its top-left corner at (x, top). */
  static void drawText(Graphics2D g, String s, double x, double top) {
    g.drawString(s, (float) x, (float) (top + g.getFontMetrics().getAscent()));
  }

  /** Draws s horizontally centred on cx with its top at top. */
  static void drawCentered(Graphics2D g, String s, double cx, double top) {
    drawText(g, s, cx - textWidth(g.getFontMetrics(), s) / 2.0, top);
  }

  /** Draws s rotated 90° counter-clockwise, centred on (cx, cy): the usual y-axis label. */
  static void drawVertical(Graphics2D g, String s, double cx, double cy) {
    FontMetrics fm = g.getFontMetrics();
    AffineTransform saved = g.getTransform();
    g.translate(cx, cy);
    g.rotate(-Math.PI / 2);
    g.drawString(s, (float) (-textWidth(fm, s) / 2.0), (float) ((fm.getAscent() - fm.getDescent()) / 2.0));
    g.setTransform(saved);
  }

  /** s shortened with an ellipsis so that it fits maxWidth. */
  static String fit(FontMetrics fm, String s, int maxWidth) {
    if (textWidth(fm, s) <= maxWidth) {
      return s;
    }
    String ellipsis = "…";
    int end = s.length();
    while (end > 0 && textWidth(fm, s.substring(0, end) + ellipsis) > maxWidth) {
      end--;
    }
    return s.substring(0, end) + ellipsis;
  }

  /**
   * Greedy word wrap to maxWidth; {@code \n} starts a new line and a word longer than a line (a path, a long option)
   * is broken between characters. At most maxLines lines; the last one ends in an ellipsis if text was cut.
   */
  static List<String> wrap(FontMetrics fm, String text, int maxWidth, int maxLines) {
    List<String> lines = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return lines;
    }
    for (String paragraph : text.strip().split("\\R", -1)) {
      StringBuilder line = new StringBuilder();
      for (String word : paragraph.strip().split(" +")) {
        String candidate = line.length() == 0 ? word : line + " " + word;
        if (textWidth(fm, candidate) <= maxWidth) {
          line.setLength(0);
          line.append(candidate);
          continue;
        }
        if (line.length() > 0) {
          lines.add(line.toString());
          line.setLength(0);
        }
        String rest = word;
        while (textWidth(fm, rest) > maxWidth && rest.length() > 1) {
          int cut = rest.length() - 1;
          while (cut > 1 && textWidth(fm, rest.substring(0, cut)) > maxWidth) {
            cut--;
          }
          lines.add(rest.substring(0, cut));
          rest = rest.substring(cut);
        }
        line.append(rest);
      }
      lines.add(line.toString());
    }
    if (lines.size() > maxLines) {
      List<String> kept = new ArrayList<>(lines.subList(0, maxLines));
      kept.set(maxLines - 1, fit(fm, kept.get(maxLines - 1) + " …", maxWidth));
      return kept;
    }
    return lines;
  }

  // ---------------------------------------------------------------- title and caption

  /** Draws the title centred at the top; returns the y below it. */
  static int drawTitle(Graphics2D g, Style st, String title, int width, int top) {
    if (title.isBlank()) {
      return top;
    }
    g.setFont(st.title());
    g.setColor(TEXT);
    List<String> lines = wrap(g.getFontMetrics(), title, width - 2 * st.px(16), 3);
    int y = top;
    for (String line : lines) {
      drawCentered(g, line, width / 2.0, y);
      y += lineHeight(g.getFontMetrics());
    }
    return y + st.px(6);
  }

  static final int CAPTION_MAX_LINES = 12;

  static List<String> captionLines(Graphics2D g, Style st, String caption, int maxWidth) {
    g.setFont(st.caption());
    return wrap(g.getFontMetrics(), caption, maxWidth, CAPTION_MAX_LINES);
  }

  /** Height the caption block needs, including the gap and rule above it. */
  static int captionHeight(Graphics2D g, Style st, List<String> lines) {
    if (lines.isEmpty()) {
      return 0;
    }
    g.setFont(st.caption());
    return st.px(14) + lines.size() * lineHeight(g.getFontMetrics());
  }

  /** Draws the caption block so that it ends at bottom, left-aligned at x, under a thin rule. */
  static void drawCaption(Graphics2D g, Style st, List<String> lines, int x, int bottom, int width) {
    if (lines.isEmpty()) {
      return;
    }
    g.setFont(st.caption());
    int lh = lineHeight(g.getFontMetrics());
    int top = bottom - lines.size() * lh;
    g.setColor(GRID);
    g.setStroke(new BasicStroke(1f));
    int ruleY = top - st.px(7);
    g.drawLine(x, ruleY, x + width, ruleY);
    g.setColor(MUTED);
    for (int i = 0; i < lines.size(); i++) {
      drawText(g, lines.get(i), x, top + i * lh);
    }
  }

  // ---------------------------------------------------------------- legend

  /** One legend entry: a line with a marker (line charts) or a filled box (bar charts). */
  record LegendEntry(String name, Color color, int marker, boolean box) {}

  /** Entries flow left to right and wrap into rows; returns the rows as lists of entry indices. */
  private static List<List<Integer>> legendRows(Graphics2D g, Style st, List<LegendEntry> entries, int maxWidth) {
    g.setFont(st.legend());
    FontMetrics fm = g.getFontMetrics();
    List<List<Integer>> rows = new ArrayList<>();
    List<Integer> row = new ArrayList<>();
    int used = 0;
    for (int i = 0; i < entries.size(); i++) {
      int w = legendEntryWidth(fm, st, entries.get(i));
      int needed = row.isEmpty() ? w : used + st.px(20) + w;
      if (!row.isEmpty() && needed > maxWidth) {
        rows.add(row);
        row = new ArrayList<>();
        needed = w;
      }
      row.add(i);
      used = needed;
    }
    if (!row.isEmpty()) {
      rows.add(row);
    }
    return rows;
  }

  private static int legendEntryWidth(FontMetrics fm, Style st, LegendEntry e) {
    return symbolWidth(st, e) + st.px(6) + textWidth(fm, e.name());
  }

  private static int symbolWidth(Style st, LegendEntry e) {
    return e.box() ? st.px(14) : st.px(28);
  }

  static int legendHeight(Graphics2D g, Style st, List<LegendEntry> entries, int maxWidth) {
    if (entries.isEmpty()) {
      return 0;
    }
    int rows = legendRows(g, st, entries, maxWidth).size();
    return rows * (lineHeight(g.getFontMetrics()) + st.px(4));
  }

  /** Draws the legend centred on cx starting at top; the rows wrap at maxWidth. */
  static void drawLegend(Graphics2D g, Style st, List<LegendEntry> entries, double cx, int top, int maxWidth) {
    if (entries.isEmpty()) {
      return;
    }
    List<List<Integer>> rows = legendRows(g, st, entries, maxWidth);
    FontMetrics fm = g.getFontMetrics();
    int lh = lineHeight(fm) + st.px(4);
    int y = top;
    for (List<Integer> row : rows) {
      int rowWidth = 0;
      for (int i : row) {
        rowWidth += legendEntryWidth(fm, st, entries.get(i));
      }
      rowWidth += (row.size() - 1) * st.px(20);
      double x = cx - rowWidth / 2.0;
      double midY = y + lh / 2.0 - st.px(2);
      for (int i : row) {
        LegendEntry e = entries.get(i);
        int sw = symbolWidth(st, e);
        g.setColor(e.color());
        if (e.box()) {
          int size = st.px(12);
          g.fill(new Rectangle2D.Double(x + (sw - size) / 2.0, midY - size / 2.0, size, size));
        } else {
          g.setStroke(new BasicStroke(st.stroke(2.2), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
          g.draw(new java.awt.geom.Line2D.Double(x, midY, x + sw, midY));
          if (e.marker() >= 0) {
            drawMarker(g, e.marker(), x + sw / 2.0, midY, st.px(7));
          }
        }
        g.setColor(TEXT);
        g.setFont(st.legend());
        drawText(g, e.name(), x + sw + st.px(6), y);
        x += legendEntryWidth(fm, st, e) + st.px(20);
      }
      y += lh;
    }
  }

  // ---------------------------------------------------------------- markers

  /** Filled marker of the given kind (cycled) centred on (x, y), so series differ even in grey-scale prints. */
  static void drawMarker(Graphics2D g, int kind, double x, double y, double size) {
    double r = size / 2.0;
    switch (Math.floorMod(kind, 6)) {
      case 0 -> g.fill(new Ellipse2D.Double(x - r, y - r, size, size));
      case 1 -> g.fill(new Rectangle2D.Double(x - r * 0.9, y - r * 0.9, size * 0.9, size * 0.9));
      case 2 -> g.fill(polygon(x, y, r * 1.15, new double[] {-90, 30, 150}));
      case 3 -> g.fill(polygon(x, y, r * 1.2, new double[] {-90, 0, 90, 180}));
      case 4 -> g.fill(polygon(x, y, r * 1.15, new double[] {90, 210, 330}));
      default -> g.fill(polygon(x, y, r * 1.2, new double[] {-90, -18, 54, 126, 198}));
    }
  }

  private static Path2D polygon(double cx, double cy, double r, double[] anglesDeg) {
    Path2D.Double p = new Path2D.Double();
    for (int i = 0; i < anglesDeg.length; i++) {
      double a = Math.toRadians(anglesDeg[i]);
      double px = cx + r * Math.cos(a);
      double py = cy + r * Math.sin(a);
      if (i == 0) {
        p.moveTo(px, py);
      } else {
        p.lineTo(px, py);
      }
    }
    p.closePath();
    return p;
  }

  // ---------------------------------------------------------------- axes

  /** A numeric axis: its range and "nice" tick values (steps of 1, 2 or 5 times a power of ten). */
  record Axis(double min, double max, double step, double[] ticks) {
    /**
     * Ticks for [lo, hi] aiming at about target ticks. Unless fixed, the range widens to the enclosing ticks so the
     * frame starts and ends on a labelled value. With integer, steps are whole numbers (epochs).
     */
    static Axis of(double lo, double hi, int target, boolean fixed, boolean integer) {
      if (!(hi > lo)) {
        double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
        if (integer) {
          pad = Math.max(1, Math.ceil(pad));
        }
        lo -= pad;
        hi += pad;
      }
      double step = niceNumber((hi - lo) / Math.max(1, target - 1), true);
      if (integer) {
        step = Math.max(1, step);
      }
      if (!fixed) {
        lo = Math.floor(lo / step + 1e-9) * step;
        hi = Math.ceil(hi / step - 1e-9) * step;
      }
      long first = (long) Math.ceil(lo / step - 1e-9);
      long last = (long) Math.floor(hi / step + 1e-9);
      double[] ticks = new double[(int) Math.max(0, last - first + 1)];
      for (int i = 0; i < ticks.length; i++) {
        ticks[i] = (first + i) * step;
      }
      return new Axis(lo, hi, step, ticks);
    }

    /** The nice number (1, 2, 5 or 10 times a power of ten) near x: rounded, or the next one up. */
    static double niceNumber(double x, boolean round) {
      double exp = Math.floor(Math.log10(x));
      double f = x / Math.pow(10, exp);
      double nf;
      if (round) {
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
      } else {
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
      }
      return nf * Math.pow(10, exp);
    }

    /** Tick label with as many decimals as the step needs (steps are 1, 2 or 5 times a power of ten). */
    String label(double v) {
      int decimals = (int) Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
      if (Math.abs(v) < step * 1e-6) {
        v = 0; // avoid "-0.0"
      }
      return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
  }

  /** About one tick per this many pixels, within 2..10 ticks. */
  static int tickTarget(int lengthPx, int pxPerTick) {
    return Math.max(2, Math.min(10, lengthPx / Math.max(1, pxPerTick) + 1));
  }
}
