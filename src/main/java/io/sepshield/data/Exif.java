package io.sepshield.data;

/**
 * The two things we need from EXIF (a TIFF structure): the orientation tag, and a copy safe to publish.
 *
 * <p>Written here because the JDK's ImageIO exposes neither: its JPEG reader returns APP1 as an opaque marker
 * segment and its PNG reader drops eXIf, and the JDK's TIFF metadata classes parse whole TIFF files only. The parser
 * reads IFD0 and the GPS and IFD1 directories it points to, with every offset bounds-checked; malformed EXIF gives
 * orientation 1 and is dropped rather than kept.
 */
final class Exif {
  private static final int ORIENTATION = 0x0112;
  private static final int GPS_IFD = 0x8825;
  private static final int THUMBNAIL_OFFSET = 0x0201;
  private static final int THUMBNAIL_LENGTH = 0x0202;

  private Exif() {}

  /** The orientation (1..8) in IFD0, or 1 when absent or unreadable. */
  static int orientation(byte[] tiff) {
    try {
      Reader r = new Reader(tiff);
      int ifd0 = r.u32(4);
      int entry = r.find(ifd0, ORIENTATION);
      if (entry < 0) {
        return 1;
      }
      int value = r.u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      return 1;
    }
  }

  /**
   * A copy fit to publish with the protected pixels: orientation set to 1 (the pixels are already upright), the GPS
   * directory emptied and its values zeroed, and IFD1 (the embedded thumbnail of the unprotected image) unlinked
   * and zeroed. Null when the structure cannot be parsed.
   */
  static byte[] sanitized(byte[] tiff) {
    byte[] out = tiff.clone();
    try {
      Reader r = new Reader(out);
      int ifd0 = r.u32(4);
      int orientation = r.find(ifd0, ORIENTATION);
      if (orientation >= 0) {
        r.put16(orientation + 8, 1);
      }
      int gps = r.find(ifd0, GPS_IFD);
      if (gps >= 0) {
        int gpsIfd = r.u32(gps + 8);
        r.zeroDirectory(gpsIfd);
        r.put16(gpsIfd, 0); // an empty directory: readers see no GPS tags
      }
      int next = ifd0 + 2 + 12 * r.u16(ifd0);
      int ifd1 = r.u32(next);
      if (ifd1 != 0) {
        int thumb = r.find(ifd1, THUMBNAIL_OFFSET);
        int thumbLength = r.find(ifd1, THUMBNAIL_LENGTH);
        if (thumb >= 0 && thumbLength >= 0) {
          r.zero(r.u32(thumb + 8), r.u32(thumbLength + 8));
        }
        r.zeroDirectory(ifd1);
        r.put32(next, 0);
      }
      return out;
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      return null;
    }
  }

  /** Bounds-checked TIFF access in the file's byte order. */
  private static final class Reader {
    private static final int[] TYPE_SIZE = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};

    private final byte[] b;
    private final boolean little;

    Reader(byte[] b) {
      this.b = b;
      if (b.length < 8) {
        throw new IllegalArgumentException("EXIF shorter than a TIFF header");
      }
      if (b[0] == 'I' && b[1] == 'I') {
        little = true;
      } else if (b[0] == 'M' && b[1] == 'M') {
        little = false;
      } else {
        throw new IllegalArgumentException("not a TIFF byte order mark");
      }
      if (u16(2) != 42) {
        throw new IllegalArgumentException("not a TIFF header");
      }
    }

    int u16(int at) {
      check(at, 2);
      int a = b[at] & 0xff;
      int c = b[at + 1] & 0xff;
      return little ? a | c << 8 : a << 8 | c;
    }

    int u32(int at) {
      check(at, 4);
      long v = little ? (u16(at) | (long) u16(at + 2) << 16) : ((long) u16(at) << 16 | u16(at + 2));
      if (v > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("offset out of range");
      }
      return (int) v;
    }

    void put16(int at, int v) {
      check(at, 2);
      b[at + (little ? 0 : 1)] = (byte) v;
      b[at + (little ? 1 : 0)] = (byte) (v >> 8);
    }

    void put32(int at, int v) {
      check(at, 4);
      for (int i = 0; i < 4; i++) {
        b[at + (little ? i : 3 - i)] = (byte) (v >> (8 * i));
      }
    }

    /** The position of the 12-byte entry with this tag in the directory at ifd, or -1. */
    int find(int ifd, int tag) {
      int n = u16(ifd);
      check(ifd + 2, 12 * n + 4);
      for (int i = 0; i < n; i++) {
        int e = ifd + 2 + 12 * i;
        if (u16(e) == tag) {
          return e;
        }
      }
      return -1;
    }

    /** Zeroes a directory's entries and every value stored outside them. */
    void zeroDirectory(int ifd) {
      int n = u16(ifd);
      check(ifd + 2, 12 * n);
      for (int i = 0; i < n; i++) {
        int e = ifd + 2 + 12 * i;
        int type = u16(e + 2);
        long size = (long) u32(e + 4) * (type < TYPE_SIZE.length ? TYPE_SIZE[type] : 1);
        if (size > 4) {
          zero(u32(e + 8), size);
        }
        zero(e, 12);
      }
    }

    void zero(int at, long length) {
      if (length > b.length) {
        throw new IllegalArgumentException("length out of range");
      }
      check(at, (int) length);
      java.util.Arrays.fill(b, at, at + (int) length, (byte) 0);
    }

    private void check(int at, int length) {
      if (at < 0 || length < 0 || (long) at + length > b.length) {
        throw new IndexOutOfBoundsException("EXIF offset " + at + "+" + length + " outside " + b.length + " bytes");
      }
    }
  }
}
