package io.sepshield.train;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;
import io.sepshield.model.FeatureClassifier;
import java.util.Random;

/**
 * An optional per-batch change to the training inputs that needs the model as it is being trained, such as
 * adversarial training. It runs after {@link BatchTransform}, on the float batch the step is about to train on.
 *
 * <p>The parameter store holds the current parameters <em>detached</em>: input gradients computed through it (with
 * {@link io.sepshield.model.Gradients}, whose collector must be closed before returning) never reach the parameters'
 * gradients, so the training step that follows sees only its own.
 */
@FunctionalInterface
public interface InputTransform {
  /**
   * @param images float NCHW in [0,1], in the batch's scope
   * @param labels int64 class labels of the batch (the hard labels, also when a batch transform made soft ones)
   * @param model the classifier being trained
   * @param parameters its current parameters, detached from training gradients
   * @param random the run's seeded generator
   * @return the images to train on, same shape, in the batch's scope
   */
  NDArray apply(NDArray images, NDArray labels, FeatureClassifier model, ParameterStore parameters, Random random);
}
