#include <gtest/gtest.h>

#include "core/error.h"
#include "core/layout.h"

using namespace ember;

TEST(Layout, ContiguousStrides) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Dims{12, 4, 1}));
  EXPECT_EQ(contiguous_strides({}), Dims{});
  EXPECT_EQ(contiguous_strides({0, 3}), (Dims{3, 1}));
  EXPECT_EQ(contiguous_strides({5, 0, 2}), (Dims{2, 2, 1}));
}

TEST(Layout, Numel) {
  EXPECT_EQ(checked_numel({2, 3, 4}, "t"), 24);
  EXPECT_EQ(checked_numel({}, "t"), 1);
  EXPECT_EQ(checked_numel({3, 0}, "t"), 0);
  EXPECT_THROW(checked_numel({-1, 2}, "t"), Error);
  EXPECT_THROW(checked_numel({int64_t(1) << 40, int64_t(1) << 40}, "t"), Error);
}

TEST(Layout, Contiguity) {
  EXPECT_TRUE(Layout(Dims{2, 3}).is_contiguous());
  const Layout t = Layout(Dims{2, 3}).transpose(0, 1);
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(t.is_non_overlapping_and_dense());
  // Size-1 dims do not affect contiguity, whatever their stride.
  EXPECT_TRUE(Layout({2, 1, 3}, {3, 99, 1}, 0).is_contiguous());
  // A stepped slice is neither contiguous nor dense.
  const Layout s = Layout(Dims{10}).slice(0, 0, 10, 2);
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_FALSE(s.is_non_overlapping_and_dense());
  // Expanded dims overlap.
  EXPECT_FALSE(Layout(Dims{1, 4}).expand({3, 4}).is_non_overlapping_and_dense());
  // Empty tensors count as contiguous.
  EXPECT_TRUE(Layout({0, 3}, {1, 5}, 0).is_contiguous());
}

TEST(Layout, Broadcast) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}, "t"), (Dims{3, 4}));
  EXPECT_EQ(broadcast_shapes({5, 3, 1}, {4}, "t"), (Dims{5, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}, "t"), (Dims{2, 2}));
  EXPECT_EQ(broadcast_shapes({0}, {1}, "t"), (Dims{0}));
  EXPECT_THROW(broadcast_shapes({3}, {4}, "t"), Error);
  try {
    broadcast_shapes({2, 3}, {4}, "add");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Value);
    EXPECT_NE(std::string(e.what()).find("add"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("(2, 3)"), std::string::npos);
  }
}

TEST(Layout, Expand) {
  const Layout e = Layout(Dims{3, 1}).expand({2, 3, 4});
  EXPECT_EQ(e.shape, (Dims{2, 3, 4}));
  EXPECT_EQ(e.strides, (Dims{0, 1, 0}));
  EXPECT_THROW(Layout(Dims{3}).expand({4}), Error);
  EXPECT_EQ(Layout(Dims{3}).expand({-1}).shape, Dims{3});
}

TEST(Layout, SliceSelectNarrow) {
  const Layout base(Dims{4, 6});
  const Layout s = base.slice(1, 1, 100, 2);
  EXPECT_EQ(s.shape, (Dims{4, 3}));
  EXPECT_EQ(s.strides, (Dims{6, 2}));
  EXPECT_EQ(s.offset, 1);
  EXPECT_EQ(base.slice(0, -1, 4, 1).shape, (Dims{1, 6}));
  EXPECT_EQ(base.slice(0, 3, 1, 1).shape, (Dims{0, 6}));
  const Layout sel = base.select(0, -1);
  EXPECT_EQ(sel.shape, Dims{6});
  EXPECT_EQ(sel.offset, 18);
  EXPECT_THROW(base.select(0, 4), Error);
  EXPECT_EQ(base.narrow(1, 2, 3).offset, 2);
  EXPECT_THROW(base.narrow(1, 4, 3), Error);
  EXPECT_THROW(base.slice(0, 0, 4, 0), Error);
}

TEST(Layout, SqueezeUnsqueezePermute) {
  const Layout l({1, 3, 1, 2}, {6, 2, 2, 1}, 0);
  EXPECT_EQ(l.squeeze({}).shape, (Dims{3, 2}));
  EXPECT_EQ(l.squeeze({2}).shape, (Dims{1, 3, 2}));
  EXPECT_EQ(l.squeeze({1}).shape, l.shape);  // non-1 dims are kept
  const Layout u = Layout(Dims{3, 2}).unsqueeze(-1);
  EXPECT_EQ(u.shape, (Dims{3, 2, 1}));
  EXPECT_EQ(u.strides, (Dims{2, 1, 1}));
  const Layout p = Layout(Dims{2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.shape, (Dims{4, 2, 3}));
  EXPECT_EQ(p.strides, (Dims{1, 12, 4}));
  EXPECT_THROW(Layout(Dims{2, 3}).permute({0, 0}), Error);
  EXPECT_THROW(Layout(Dims{2, 3}).permute({0}), Error);
  EXPECT_THROW(wrap_dim(3, 3, "t"), Error);
  EXPECT_EQ(wrap_dim(-1, 3, "t"), 2);
}

TEST(Layout, ViewAs) {
  // Contiguous: any shape with the same numel.
  EXPECT_TRUE(Layout(Dims{2, 6}).view_as({3, 4}).has_value());
  // Transposed: merging the two dims needs a copy, splitting one dim does not.
  const Layout t = Layout(Dims{4, 6}).transpose(0, 1);  // shape (6, 4) strides (1, 6)
  EXPECT_FALSE(t.view_as({24}).has_value());
  const auto split = t.view_as({2, 3, 4});
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->strides, (Dims{3, 1, 6}));
  // Size-1 dims can be added anywhere.
  const auto ones = t.view_as({6, 1, 4});
  ASSERT_TRUE(ones.has_value());
  EXPECT_EQ(ones->shape, (Dims{6, 1, 4}));
  // A stepped slice keeps its stride when only split.
  const Layout s = Layout(Dims{12}).slice(0, 0, 12, 2);
  const auto v = s.view_as({2, 3});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->strides, (Dims{6, 2}));
}

TEST(Layout, InferShape) {
  EXPECT_EQ(infer_shape({-1, 4}, 12, "t"), (Dims{3, 4}));
  EXPECT_THROW(infer_shape({-1, -1}, 12, "t"), Error);
  EXPECT_THROW(infer_shape({5, -1}, 12, "t"), Error);
  EXPECT_THROW(infer_shape({0, -1}, 0, "t"), Error);
  EXPECT_EQ(infer_shape({0, 3}, 0, "t"), (Dims{0, 3}));
}

TEST(Layout, Extent) {
  EXPECT_EQ(Layout(Dims{2, 3}).extent(), (std::pair<int64_t, int64_t>{0, 6}));
  EXPECT_EQ(Layout({3}, {-2}, 4).extent(), (std::pair<int64_t, int64_t>{0, 5}));
  EXPECT_EQ(Layout({0, 3}, {3, 1}, 7).extent(), (std::pair<int64_t, int64_t>{7, 7}));
}

TEST(SmallVec, GrowsPastInlineCapacity) {
  SmallVec<int64_t, 2> v;
  for (int i = 0; i < 100; ++i) v.push_back(i);
  ASSERT_EQ(v.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(v[i], i);
  SmallVec<int64_t, 2> copy = v;
  SmallVec<int64_t, 2> moved = std::move(copy);
  EXPECT_EQ(moved, v);
  v.insert(0, -1);
  EXPECT_EQ(v[0], -1);
  v.erase(0);
  EXPECT_EQ(v, moved);
}
