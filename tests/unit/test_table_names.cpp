// One name per fact: the table's column for packets behind the highest sequence number is the
// JSON's `reordered` (and the metric's, and what `rtcap gen --reorder` makes), not "Late".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rtcap/analysis.hpp"

namespace rtcap {
namespace {

TEST(StreamTableNames, ReorderedIsOneName) {
  TrackerSnapshot snap;
  StreamSummary s;
  s.is_rtp = true;
  s.reordered = 3;
  snap.streams.push_back(s);
  const std::string table = format_stream_table(snap);
  const std::string header = table.substr(0, table.find('\n'));
  EXPECT_NE(header.find("Reord"), std::string::npos) << header;
  EXPECT_EQ(header.find("Late"), std::string::npos) << header;
  const nlohmann::json j = nlohmann::json::parse(to_json(snap));
  EXPECT_EQ(j.at("streams")[0].at("reordered"), 3);
}

}  // namespace
}  // namespace rtcap
