package io.sepshield.data;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The metadata of an upload that is re-emitted into the protected PNG: only what the keep-list names; everything
 * else (EXIF with GPS, XMP, text chunks, JPEG comments, ICC profiles) is stripped by default.
 *
 * @param icc the ICC colour profile, or null
 * @param exif EXIF as a TIFF structure (the body of PNG's eXIf chunk), already sanitised: orientation 1 (it has
 *     been applied to the pixels), GPS data and the IFD1 thumbnail (the unprotected picture in small) removed; or
 *     null
 * @param xmp the XMP packet (XML text), or null
 * @param text text entries (PNG tEXt/zTXt/iTXt other than XMP, JPEG comments as "Comment"); empty if none kept
 */
public record ImageMetadata(byte[] icc, byte[] exif, String xmp, List<Text> text) {
  /** Nothing kept. */
  public static final ImageMetadata NONE = new ImageMetadata(null, null, null, List.of());

  public ImageMetadata {
    text = text == null ? List.of() : List.copyOf(text);
  }

  /** One text entry: a PNG keyword (1–79 Latin-1 characters) and its value. */
  public record Text(String keyword, String value) {}

  /** What a keep-list may name. */
  public enum Kind {
    ICC, EXIF, XMP, TEXT;

    /**
     * Parses a comma-separated keep-list such as "icc,exif"; empty or "none" keeps nothing.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Set<Kind> parseList(String list) {
      Set<Kind> kinds = EnumSet.noneOf(Kind.class);
      for (String part : list.split(",")) {
        String name = part.trim().toUpperCase(Locale.ROOT);
        if (name.isEmpty() || name.equals("NONE")) {
          continue;
        }
        try {
          kinds.add(valueOf(name));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("unknown metadata kind '" + part.trim() + "'; expected icc, exif, xmp, "
              + "text or none");
        }
      }
      return kinds;
    }
  }

  public boolean isEmpty() {
    return icc == null && exif == null && xmp == null && text.isEmpty();
  }

  /** The kinds present. */
  public Set<Kind> kinds() {
    Set<Kind> k = EnumSet.noneOf(Kind.class);
    if (icc != null) {
      k.add(Kind.ICC);
    }
    if (exif != null) {
      k.add(Kind.EXIF);
    }
    if (xmp != null) {
      k.add(Kind.XMP);
    }
    if (!text.isEmpty()) {
      k.add(Kind.TEXT);
    }
    return k;
  }
}
