package io.sepshield.report;

/** A chart with labelled x and y axes and an optional fixed y range (line and bar charts). */
abstract class AxisChart<T extends AxisChart<T>> extends Chart<T> {
  protected String xLabel = "";
  protected String yLabel = "";
  protected Double yMin;
  protected Double yMax;

  protected AxisChart(int width, int height) {
    super(width, height);
  }

  public T xLabel(String label) {
    this.xLabel = label == null ? "" : label;
    return self();
  }

  public T yLabel(String label) {
    this.yLabel = label == null ? "" : label;
    return self();
  }

  /** Fixes the y axis, e.g. 0..100 for accuracy in percent, so figures of different runs compare at a glance. */
  public T yRange(double min, double max) {
    if (!(max > min) || !Double.isFinite(min) || !Double.isFinite(max)) {
      throw new IllegalArgumentException("y range must satisfy min < max: " + min + ".." + max);
    }
    this.yMin = min;
    this.yMax = max;
    return self();
  }
}
