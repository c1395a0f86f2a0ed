package io.sepshield.registry;

import org.apache.avro.Schema;

/** One version of a subject: what GET /subjects/{subject}/versions/{version} returns. */
public record RegisteredSchema(String subject, int version, int id, Schema schema) {}
