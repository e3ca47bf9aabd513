// RFC 5769 test vectors, typed in from the RFC text (§2.1–2.4).
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

export const TID = hex("b7e7a701 bc34d686 fa87dfae");
export const SHORT_TERM_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";

/** §2.1 Sample Request (short-term, SOFTWARE "STUN test client", USERNAME "evtj:h6vY"). */
export const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);

/** §2.2 Sample IPv4 Response (XOR-MAPPED-ADDRESS 192.0.2.1:32853, SOFTWARE "test vector "). */
export const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);

/** §2.3 Sample IPv6 Response (XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853). */
export const SAMPLE_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);

/** §2.4 Sample Request with Long-Term Authentication. */
export const LONG_TERM_TID = hex("78ad3433 c6ad72c0 29da412e");
export const LONG_TERM_USERNAME = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"; // "マトリックス"
/** As printed in the RFC: SASLprep maps it to "TheMatrIX". */
export const LONG_TERM_PASSWORD = "The\u00adM\u00aatrIX";
export const LONG_TERM_NONCE = "f//499k954d6OL34oL9FSTvy64sA";
export const LONG_TERM_REALM = "example.org";
export const SAMPLE_LONG_TERM_REQUEST = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e
  00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014000b 6578616d 706c652e 6f726700
  00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);
