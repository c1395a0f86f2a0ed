package io.sepshield.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Text layout for {@link ImageStrip}: title, wrapped caption, labels. The charts are JFreeChart's (see {@link Charts});
 * an image strip is a grid of pixel-exact images, which no chart type draws, so it lays out its own text.
 */
final class StripText {
  private StripText() {}

  static final Color TEXT = new Color(0x22, 0x22, 0x22);
  static final Color MUTED = new Color(0x55, 0x55, 0x55);
  static final Color GRID = new Color(0xE3, 0xE3, 0xE3);

  /**
   * Sizes in pixels for a figure of the default size, scaled with the figure so that a larger PNG is not just the
   * same small text on a bigger canvas.
   */
  static final class Style {
    final double scale;

    Style(double scale) {
      this.scale = scale;
    }

    int px(double v) {
      return (int) Math.round(v * scale);
    }

    Font title() {
      return sans(Font.BOLD, 18);
    }

    Font label() {
      return sans(Font.PLAIN, 14);
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
}
