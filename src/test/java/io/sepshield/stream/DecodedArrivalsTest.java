package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.avro.UploadedImage;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.UploadDecoder;
import org.junit.jupiter.api.Test;

/** Uploads kept decoded from arrival to their batch: bounded by pixels, forgotten when they leave the buffer. */
class DecodedArrivalsTest {
  private static final LabeledImages DATA = StreamFixtures.data(); // 12×12 gray: 144 pixels each

  private static DecodedArrivals.Arrival arrival(int i) throws Exception {
    UploadedImage upload = StreamFixtures.pngUpload(DATA, i, "u" + i);
    DecodedUpload decoded = UploadDecoder.decode(upload.getImage().array(), UploadDecoder.Options.DEFAULT);
    return new DecodedArrivals.Arrival(upload, decoded);
  }

  @Test
  void keepsUploadsUpToItsPixelBoundAndFreesRoomWhenOneLeaves() throws Exception {
    DecodedArrivals arrivals = new DecodedArrivals(3 * 144);
    for (int i = 0; i < 3; i++) {
      assertTrue(arrivals.keep("k" + i, arrival(i)));
    }
    assertFalse(arrivals.keep("k3", arrival(3)), "a fourth 12×12 image is past the bound: decoded again later");
    assertNull(arrivals.get("k3"));
    assertEquals(3 * 144, arrivals.pixels());
    DecodedArrivals.Arrival kept = arrivals.get("k1");
    assertEquals("u1", kept.upload().getId());
    assertArrayEquals(DATA.image(1), kept.decoded().colour().pixels(), "the pixels decoded on arrival");

    arrivals.forget("k1");
    assertNull(arrivals.get("k1"));
    assertEquals(2 * 144, arrivals.pixels());
    assertTrue(arrivals.keep("k3", arrival(3)), "room again once an upload left the buffer");
    arrivals.forget("not-there"); // a restored upload was never kept: nothing to free
    assertEquals(3 * 144, arrivals.pixels());

    arrivals.clear(); // a revived task: everything is decoded again from the buffer
    assertEquals(0, arrivals.size());
    assertEquals(0, arrivals.pixels());
  }

  @Test
  void aKeyIsKeptOnce() throws Exception {
    DecodedArrivals arrivals = new DecodedArrivals(10 * 144);
    assertTrue(arrivals.keep("k", arrival(0)));
    assertFalse(arrivals.keep("k", arrival(1)));
    assertEquals("u0", arrivals.get("k").upload().getId());
    assertEquals(144, arrivals.pixels());
  }
}
