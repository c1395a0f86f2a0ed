package io.sepshield.eval;

import io.sepshield.data.LabeledImages;
import io.sepshield.train.BatchTransform;
import io.sepshield.train.InputTransform;

/**
 * What an appropriator may do to protected training images before or while training on them: change the pixels
 * once (JPEG, bit depth, grayscale, blur, the class-mean averaging attack), change every training batch (cutout,
 * mixup), or train against its own model's adversarial examples (adversarial training).
 */
public interface Defense {
  /** Short name: none, jpeg, bits, gray, blur, cutout, mixup, adv, class-mean. */
  String name();

  /** The setting as typed on the command line after the colon ("75" for jpeg:75); empty when there is none. */
  String setting();

  /** The training images as the appropriator trains on them; the identity for training-time defenses. */
  default LabeledImages preprocess(LabeledImages images) {
    return images;
  }

  /** What {@link #preprocess} takes off these images, for the log; empty when there is nothing to say. */
  default String describeOn(LabeledImages images) {
    return "";
  }

  /** A per-batch training hook, or null. */
  default BatchTransform batchTransform() {
    return null;
  }

  /** A per-batch hook on the float inputs that sees the model being trained, or null. */
  default InputTransform inputTransform() {
    return null;
  }

  /** "none" or name:setting, the form used in results and on the command line. */
  default String label() {
    return setting().isEmpty() ? name() : name() + ":" + setting();
  }
}
