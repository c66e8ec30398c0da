#include <gtest/gtest.h>

#include "cpu/philox.h"

// Known-answer values of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswerZeroCounterZeroKey) {
  const ember::cpu::PhiloxBlock r = ember::cpu::philox4x32_10(0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
}

TEST(Philox, DifferentCountersDiffer) {
  const auto a = ember::cpu::philox4x32_10(1, 42), b = ember::cpu::philox4x32_10(2, 42);
  EXPECT_NE(a.v[0], b.v[0]);
}
