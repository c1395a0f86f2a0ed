package io.sepshield.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Gradient collection for the whole JVM. DJL's PyTorch engine allows one {@link GradientCollector} per process at a
 * time (a second one throws), so crafting, adversarial attacks and training steps all open theirs here, under one
 * lock: on different threads they wait for each other instead of failing. Their backward passes run under
 * {@link DjlRuntime#backwardPass} (ATen's convolution backward where oneDNN's is wrong).
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
    return ofInputCopies(x, 1, leaves -> loss.apply(leaves[0]), into)[0];
  }

  /**
   * ∇ of {@code loss(x_1..x_copies)} with respect to each copy x_j of x, in ONE gradient collection and one backward
   * pass. With {@code loss} = Σ_j L_j(x_j), the j-th result is ∇x L_j(x) exactly (the sum's gradient reaches each
   * term with weight 1), so n per-model gradients cost one collector, one lock and one backward call instead of n.
   *
   * <p>The leaves are copies of x and the gradients are copied out before the leaves are freed. Detached views and
   * the leaves' own gradient tensors would save two image-sized copies per evaluation (small against a
   * forward+backward pass); they were tried on 2026-12-01 and not kept, because one benchmark run with them crashed
   * inside libtorch, cause not established.
   */
  public static NDArray[] ofInputCopies(NDArray x, int copies, Function<NDArray[], NDArray> loss, NDManager into) {
    try (NDManager scope = into.newSubManager()) {
      NDArray[] leaves = new NDArray[copies];
      for (int j = 0; j < copies; j++) {
        leaves[j] = x.duplicate();
        leaves[j].attach(scope);
        leaves[j].setRequiresGradient(true);
      }
      try (GradientCollector collector = collector(scope.getEngine())) {
        collector.backward(loss.apply(leaves));
      }
      NDArray[] grads = new NDArray[copies];
      for (int j = 0; j < copies; j++) {
        grads[j] = leaves[j].getGradient().duplicate();
        grads[j].attach(into);
      }
      return grads;
    }
  }

  private record Locked(GradientCollector delegate) implements GradientCollector {
    /** Under the CPU convolution setting's backward path (see {@link DjlRuntime.CpuConvolution}). */
    @Override
    public void backward(NDArray target) {
      DjlRuntime.backwardPass(() -> delegate.backward(target));
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
