package io.sepshield.train;

/**
 * One finished epoch.
 *
 * @param epoch 1-based
 * @param trainLoss mean cross-entropy over the epoch's batches (augmented, training mode)
 * @param trainAccuracy accuracy on the augmented batches as they were trained
 * @param learningRate the rate at the epoch's last update
 * @param seconds wall time of the epoch
 */
public record EpochStats(int epoch, double trainLoss, double trainAccuracy, float learningRate, double seconds) {}
