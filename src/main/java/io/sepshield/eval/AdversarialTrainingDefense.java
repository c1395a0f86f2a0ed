package io.sepshield.eval;

import io.sepshield.sep.Pgd;
import io.sepshield.train.InputTransform;

/**
 * PGD adversarial training (Madry et al., ICLR 2018), the strongest known defense against availability poisoning
 * (Tao et al., NeurIPS 2021): every training batch is replaced by PGD adversarial examples of the appropriator's
 * own current model, L∞ radius ε, a uniform random start and {@code steps} signed steps of α = ε/4 (Madry et al.'s
 * CIFAR-10 recipe: 7 steps of 2/255 at ε = 8/255). The attack runs with BatchNorm in training mode (batch
 * statistics), as in Madry et al. and the PGD-AT reference code of Rice et al. (ICML 2020); as there, its forward
 * passes also update the running statistics. Costs about steps + 1 times plain training.
 *
 * @param eps255 radius in 1/255 levels
 * @param steps PGD steps per batch
 */
public record AdversarialTrainingDefense(float eps255, int steps) implements Defense {
  /** Madry et al.'s number of training-attack steps on CIFAR-10. */
  public static final int DEFAULT_STEPS = 7;

  public AdversarialTrainingDefense {
    if (!(eps255 > 0 && eps255 <= 255)) {
      throw new IllegalArgumentException("adversarial-training radius must be in (0, 255] levels, got " + eps255);
    }
    if (steps < 1 || steps > 1000) {
      throw new IllegalArgumentException("adversarial-training steps must be in 1..1000, got " + steps);
    }
  }

  @Override
  public String name() {
    return "adv";
  }

  /** Always "ε:steps", so that a record says how strong the attack was. */
  @Override
  public String setting() {
    return EvaluationRunner.fmt(eps255) + ":" + steps;
  }

  @Override
  public InputTransform inputTransform() {
    Pgd pgd = Pgd.madry(eps255 / 255f, steps);
    return (images, labels, model, parameters, random) -> pgd.attack(model, parameters, true, images, labels,
        random);
  }
}
