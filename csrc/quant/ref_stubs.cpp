// Placeholders until each type's reference lands: they raise NotImplementedError.
#include "core/error.h"
#include "quant/reference_types.h"

namespace ember::quant {

void quantize_row_q4_0(const float*, block_q4_0*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q4_0 is not implemented yet"); }
void dequantize_row_q4_0(const block_q4_0*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q4_0 is not implemented yet"); }
void quantize_row_q4_1(const float*, block_q4_1*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q4_1 is not implemented yet"); }
void dequantize_row_q4_1(const block_q4_1*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q4_1 is not implemented yet"); }
void quantize_row_q5_0(const float*, block_q5_0*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q5_0 is not implemented yet"); }
void dequantize_row_q5_0(const block_q5_0*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q5_0 is not implemented yet"); }
void quantize_row_q5_1(const float*, block_q5_1*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q5_1 is not implemented yet"); }
void dequantize_row_q5_1(const block_q5_1*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q5_1 is not implemented yet"); }
void quantize_row_q8_0(const float*, block_q8_0*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q8_0 is not implemented yet"); }
void dequantize_row_q8_0(const block_q8_0*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q8_0 is not implemented yet"); }
void quantize_row_q8_1(const float*, block_q8_1*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q8_1 is not implemented yet"); }
void dequantize_row_q8_1(const block_q8_1*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q8_1 is not implemented yet"); }
void quantize_row_q2_K(const float*, block_q2_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q2_k is not implemented yet"); }
void dequantize_row_q2_K(const block_q2_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q2_k is not implemented yet"); }
void quantize_row_q3_K(const float*, block_q3_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q3_k is not implemented yet"); }
void dequantize_row_q3_K(const block_q3_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q3_k is not implemented yet"); }
void quantize_row_q4_K(const float*, block_q4_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q4_k is not implemented yet"); }
void dequantize_row_q4_K(const block_q4_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q4_k is not implemented yet"); }
void quantize_row_q5_K(const float*, block_q5_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q5_k is not implemented yet"); }
void dequantize_row_q5_K(const block_q5_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q5_k is not implemented yet"); }
void quantize_row_q6_K(const float*, block_q6_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q6_k is not implemented yet"); }
void dequantize_row_q6_K(const block_q6_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q6_k is not implemented yet"); }
void quantize_row_q8_K(const float*, block_q8_K*, int64_t) { EMBER_THROW(NotImplemented, "quantize: q8_k is not implemented yet"); }
void dequantize_row_q8_K(const block_q8_K*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: q8_k is not implemented yet"); }
void quantize_row_iq4_nl(const float*, block_iq4_nl*, int64_t) { EMBER_THROW(NotImplemented, "quantize: iq4_nl is not implemented yet"); }
void dequantize_row_iq4_nl(const block_iq4_nl*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: iq4_nl is not implemented yet"); }
void quantize_row_iq4_xs(const float*, block_iq4_xs*, int64_t) { EMBER_THROW(NotImplemented, "quantize: iq4_xs is not implemented yet"); }
void dequantize_row_iq4_xs(const block_iq4_xs*, float*, int64_t) { EMBER_THROW(NotImplemented, "dequantize: iq4_xs is not implemented yet"); }

}  // namespace ember::quant
