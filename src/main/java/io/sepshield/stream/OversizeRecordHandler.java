package io.sepshield.stream;

import io.sepshield.bundle.Sha256;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;

/**
 * Kafka Streams' production exception handler for records the producer or broker refuses as too large: skips the
 * record instead of killing the stream thread (which would restart on the same offset and fail again), and logs the
 * reference a person needs to find the upload: source topic, partition, offset and the SHA-256 of the refused value.
 * Every other send error fails as with Kafka's default handler.
 *
 * <p>A safety net, not the mechanism: {@link ProtectionProcessor} measures every record against the size limit
 * before forwarding it and dead-letters by reference what does not fit, because under exactly-once a refused send
 * puts the producer's transaction into an abortable state whatever this handler answers. Kafka 4.1 has no
 * dead-letter support in the handlers (KIP-1034's {@code errors.dead.letter.queue.topic.name} is not in 4.1.2's
 * StreamsConfig), so the dead-letter records are the processor's own.
 */
public final class OversizeRecordHandler implements ProductionExceptionHandler {
  private static final System.Logger LOG = System.getLogger(OversizeRecordHandler.class.getName());

  @Override
  public ProductionExceptionHandlerResponse handle(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record,
      Exception exception) {
    if (exception instanceof RecordTooLargeException) {
      LOG.log(System.Logger.Level.ERROR, "record for {0} refused as too large ({1}); skipped. Source {2}-{3}@{4}, "
          + "value SHA-256 {5}, {6} bytes", record.topic(), exception.getMessage(), context.topic(),
          context.partition(), context.offset(), record.value() == null ? "-" : Sha256.of(record.value()),
          record.value() == null ? 0 : record.value().length);
      return ProductionExceptionHandlerResponse.CONTINUE;
    }
    return ProductionExceptionHandlerResponse.FAIL;
  }

  @Override
  public void configure(Map<String, ?> configs) {}
}
