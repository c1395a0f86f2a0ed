package io.sepshield.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.HashMap;
import java.util.Map;

/**
 * The parameters of another store as detached views: same storage (so they are always current, and BatchNorm's
 * running statistics still update in place), but no gradient flows back into them. The views live in
 * {@code scope} and are freed with it.
 */
final class DetachedParameters extends ParameterStore {
  private final ParameterStore source;
  private final NDManager scope;
  private final Map<String, NDArray> views = new HashMap<>();

  DetachedParameters(ParameterStore source, NDManager scope) {
    super(scope, false);
    this.source = source;
    this.scope = scope;
  }

  @Override
  public NDArray getValue(Parameter parameter, Device device, boolean training) {
    if (parameter == null) {
      return null;
    }
    return views.computeIfAbsent(parameter.getId() + "@" + device, k -> {
      NDArray view = source.getValue(parameter, device, training).stopGradient();
      view.attach(scope);
      return view;
    });
  }
}
