#include <gtest/gtest.h>

#include <random>
#include <vector>
#include <algorithm>

#include "rtcap/histogram.hpp"
#include "stats/histogram_recorder.hpp"

using namespace rtcap;

TEST(Histogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < kHistogramSub; ++v) {
    EXPECT_EQ(histogram_bucket_index(v), v);
    EXPECT_EQ(histogram_bucket_lower(v), v);
    EXPECT_EQ(histogram_bucket_upper(v), v);
  }
}

TEST(Histogram, BucketsTileTheRangeWithBoundedError) {
  // Consecutive buckets touch; every value lies in its bucket; width <= lower/32.
  for (std::size_t i = 1; i < kHistogramBuckets; ++i) {
    EXPECT_EQ(histogram_bucket_lower(i), histogram_bucket_upper(i - 1) + 1) << i;
  }
  std::mt19937_64 rng(1);
  for (int k = 0; k < 100000; ++k) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::size_t i = histogram_bucket_index(v);
    ASSERT_LT(i, kHistogramBuckets);
    ASSERT_LE(histogram_bucket_lower(i), v);
    ASSERT_GE(histogram_bucket_upper(i), v);
    if (v >= kHistogramSub) {
      ASSERT_LE(histogram_bucket_upper(i) - histogram_bucket_lower(i),
                histogram_bucket_lower(i) / kHistogramSub);
    }
  }
  EXPECT_EQ(histogram_bucket_index(UINT64_MAX), kHistogramBuckets - 1);
}

TEST(Histogram, PercentilesWithinOneBucketOfExact) {
  Histogram h;
  std::vector<std::uint64_t> values;
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail, in ns
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  const HistogramData d = h.snapshot();
  EXPECT_EQ(d.count, values.size());
  EXPECT_EQ(d.min, values.front());
  EXPECT_EQ(d.max, values.back());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const std::uint64_t exact = values[std::size_t(std::ceil(q * double(values.size()))) - 1];
    const std::uint64_t got = d.percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(double(got), double(exact) * (1.0 + 1.0 / kHistogramSub) + 1) << q;
  }
  EXPECT_EQ(d.percentile(1.0), values.back());
}

TEST(Histogram, EmptyAndMerge) {
  HistogramData empty;
  EXPECT_EQ(empty.percentile(0.99), 0u);
  EXPECT_EQ(empty.mean(), 0.0);
  Histogram a, b;
  a.record(10);
  a.record(1000);
  b.record(5);
  HistogramData m = a.snapshot();
  m.merge(b.snapshot());
  EXPECT_EQ(m.count, 3u);
  EXPECT_EQ(m.min, 5u);
  EXPECT_EQ(m.max, 1000u);
  EXPECT_EQ(m.sum, 1015u);
  EXPECT_EQ(m.percentile(0.5), 10u);
}

TEST(Histogram, PlainRecordMatchesTheAtomicOne) {
  Histogram atomic;
  HistogramData plain;
  for (std::uint64_t v : {0ull, 7ull, 31ull, 32ull, 1'000ull, 123'456'789ull, 5ull}) {
    atomic.record(v);
    plain.record(v);
  }
  const HistogramData a = atomic.snapshot();
  EXPECT_EQ(plain.buckets, a.buckets);
  EXPECT_EQ(plain.count, a.count);
  EXPECT_EQ(plain.sum, a.sum);
  EXPECT_EQ(plain.min, 0u);
  EXPECT_EQ(plain.max, 123'456'789u);
}

TEST(Histogram, RecordNIsTheSameAsOneRecordPerValue) {
  // The engine records a batch's delays with record_n; it must give what record() would.
  const std::vector<std::uint64_t> first = {900ull, 3ull, 77'000ull};
  const std::vector<std::uint64_t> second = {5'000'000'000ull, 31ull, 32ull, 1ull, 64ull};
  Histogram one, many;
  for (auto* values : {&first, &second}) {
    for (std::uint64_t v : *values) one.record(v);
    many.record_n(values->size(), [&](std::size_t i) { return (*values)[i]; });
  }
  many.record_n(0, [](std::size_t) -> std::uint64_t { return 7; });  // nothing, not a 7
  const HistogramData a = one.snapshot(), b = many.snapshot();
  EXPECT_EQ(a.buckets, b.buckets);
  EXPECT_EQ(b.count, 8u);
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(b.min, 1u);
  EXPECT_EQ(b.max, 5'000'000'000u);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
}

TEST(Histogram, MinusGivesWhatWasRecordedBetweenTwoSnapshots) {
  Histogram h;
  for (std::uint64_t v : {10ull, 20ull, 5'000'000ull}) h.record(v);
  const HistogramData before = h.snapshot();
  for (std::uint64_t v : {100ull, 200ull, 300ull}) h.record(v);
  const HistogramData d = h.snapshot().minus(before);
  EXPECT_EQ(d.count, 3u);
  EXPECT_EQ(d.sum, 600u);
  // min and max are the edges of the buckets that grew, not the running 10 and 5,000,000.
  EXPECT_EQ(d.min, histogram_bucket_lower(histogram_bucket_index(100)));
  EXPECT_EQ(d.max, histogram_bucket_upper(histogram_bucket_index(300)));
  EXPECT_LE(d.percentile(0.5), 200u * 33 / 32);
  // Nothing new: empty. A `before` from a larger histogram (a new engine): all of `now`.
  EXPECT_EQ(before.minus(before).count, 0u);
  Histogram fresh;
  fresh.record(42);
  const HistogramData all = fresh.snapshot().minus(h.snapshot());
  EXPECT_EQ(all.count, 1u);
  EXPECT_EQ(all.sum, 42u);
  EXPECT_EQ(all.min, 42u);
  EXPECT_EQ(all.max, 42u);
}
