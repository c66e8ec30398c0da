#include <gtest/gtest.h>

#include "cpu/cpu_features.h"

TEST(Smoke, HasBaseline) { EXPECT_FALSE(ember::cpu::runnable_isas().empty()); }
