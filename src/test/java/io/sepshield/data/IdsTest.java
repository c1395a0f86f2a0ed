package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class IdsTest {
  @Test
  void matchesLabeledImagesIndexIds() {
    assertEquals(LabeledImages.indexIds("train", 1234), Ids.index("train", 1234));
    assertEquals(String.format("%s-%06d", "x", 1_234_567), Ids.id("x", 1_234_567));
    assertEquals(List.of(), Ids.index("x", 0));
  }
}
