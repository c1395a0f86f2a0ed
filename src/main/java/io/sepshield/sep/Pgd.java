package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.Gradients;
import java.util.Random;

/**
 * Untargeted L∞ projected gradient descent (Madry et al., ICLR 2018), the attack of PGD adversarial training:
 * a uniform random start in the ε-ball, then k steps x ← Π_ε(x + α sign ∇x CE(f(x), y)).
 *
 * @param epsilon radius in pixel units ([0,1] scale)
 * @param steps k
 * @param alpha step size in pixel units
 */
public record Pgd(float epsilon, int steps, float alpha) {
  public Pgd {
    if (!(epsilon > 0 && epsilon <= 1)) {
      throw new IllegalArgumentException("PGD epsilon must be in (0, 1] pixel units, got " + epsilon);
    }
    if (steps < 1) {
      throw new IllegalArgumentException("PGD needs at least one step, got " + steps);
    }
    if (!(alpha > 0)) {
      throw new IllegalArgumentException("PGD step size must be positive, got " + alpha);
    }
  }

  /** Madry et al.'s CIFAR-10 recipe scaled to ε: α = ε/4. */
  public static Pgd madry(float epsilon, int steps) {
    return new Pgd(epsilon, steps, epsilon / 4);
  }

  /**
   * Adversarial versions of {@code images}, attached to their manager.
   *
   * @param images float NCHW in [0,1]
   * @param labels int64 true labels; the attack ascends their cross-entropy
   * @param training BatchNorm mode of the attack's forward passes (batch statistics when true)
   * @param random draws the random start
   */
  public NDArray attack(FeatureClassifier model, ParameterStore parameters, boolean training, NDArray images,
      NDArray labels, Random random) {
    NDManager home = images.getManager();
    try (NDManager scope = home.newSubManager()) {
      // Everything derived from the inputs is freed with the scope; the inputs themselves go back home.
      images.tempAttach(scope);
      labels.tempAttach(scope);
      NDArray oneHot = labels.oneHot(model.numClasses()).toType(DataType.FLOAT32, false);
      try (EpsilonBall ball = new EpsilonBall(images, epsilon)) {
        NDArray x = ball.project(images.add(uniformStart(scope, images, random)));
        for (int t = 0; t < steps; t++) {
          NDArray current = x;
          // The targeted loss toward the true labels, ascended: the sum of per-image cross-entropies.
          NDArray grad = Gradients.ofInput(current,
              leaf -> Losses.targetedCrossEntropy(model.logits(parameters, leaf, training), oneHot), scope);
          x = ball.project(current.add(grad.sign().mul(alpha)));
        }
        x.attach(home);
        return x;
      }
    }
  }

  private NDArray uniformStart(NDManager scope, NDArray images, Random random) {
    float[] noise = new float[Math.toIntExact(images.size())];
    for (int i = 0; i < noise.length; i++) {
      noise[i] = (random.nextFloat() * 2f - 1f) * epsilon;
    }
    return scope.create(noise, images.getShape()).toDevice(images.getDevice(), false);
  }
}
