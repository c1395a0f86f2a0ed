package io.sepshield.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/**
 * Gradient collection for the whole JVM. DJL's PyTorch engine allows one {@link GradientCollector} per process at a
 * time (a second one throws), so crafting, adversarial attacks and training steps all open theirs here, under one
 * lock: on different threads they wait for each other instead of failing.
 */
public final class Gradients {
  private static final ReentrantLock LOCK = new ReentrantLock();

  private Gradients() {}

  /** A collector that holds the lock from now until it is closed; open it with try-with-resources. */
  public static GradientCollector collector(Engine engine) {
    LOCK.lock();
    try {
      return new Locked(engine.newGradientCollector());
    } catch (RuntimeException | Error e) {
      LOCK.unlock();
      throw e;
    }
  }

  /**
   * ∇x loss(x), computed on a fresh leaf in its own scope so that the forward graph is freed at once; only the
   * gradient is kept, attached to {@code into}. Gradients of anything else that requires them (model parameters)
   * accumulate as usual: pass detached parameters where that matters.
   */
  public static NDArray ofInput(NDArray x, UnaryOperator<NDArray> loss, NDManager into) {
    try (NDManager scope = into.newSubManager()) {
      NDArray leaf = x.duplicate();
      leaf.attach(scope);
      leaf.setRequiresGradient(true);
      try (GradientCollector collector = collector(scope.getEngine())) {
        collector.backward(loss.apply(leaf));
      }
      NDArray grad = leaf.getGradient().duplicate();
      grad.attach(into);
      return grad;
    }
  }

  private record Locked(GradientCollector delegate) implements GradientCollector {
    @Override
    public void backward(NDArray target) {
      delegate.backward(target);
    }

    @Override
    public void zeroGradients() {
      delegate.zeroGradients();
    }

    @Override
    public void close() {
      try {
        delegate.close();
      } finally {
        LOCK.unlock();
      }
    }
  }
}
