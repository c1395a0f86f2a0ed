package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class IdsTest {
  @Test
  void matchesLabeledImagesIndexIds() {
    List<String> expected = new java.util.ArrayList<>();
    for (int i = 0; i < 1234; i++) {
      expected.add(String.format("%s-%06d", "train", i));
    }
    assertEquals(expected, LabeledImages.indexIds("train", 1234));
    assertEquals(String.format("%s-%06d", "x", 1_234_567), Ids.id("x", 1_234_567));
    assertEquals(List.of(), Ids.index("x", 0));
  }
}
