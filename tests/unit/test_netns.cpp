// A network namespace that is not there, or an interface missing inside one: each said in its
// own words, with its own code, the same from C++ and C (Python maps the C status).
#include <gtest/gtest.h>
#include <rtcap/rtcap.h>
#include <unistd.h>

#include <string>

#include "rtcap/engine.hpp"

namespace {

constexpr const char* kMissing = "rtcap-unit-no-such-namespace";

TEST(Netns, AMissingNamespaceIsNotAMissingInterface) {
  rtcap::CaptureConfig c;
  c.interfaces = {"lo"};
  c.netns = kMissing;
  auto opened = rtcap::Engine::open(c);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, rtcap::ErrorCode::kNoSuchNamespace);
  EXPECT_NE(opened.error().message.find(std::string("network namespace '") + kMissing + "'"),
            std::string::npos)
      << opened.error().message;
  EXPECT_EQ(opened.error().message.find("no such interface"), std::string::npos);

  rtcap_config* cfg = nullptr;
  ASSERT_EQ(rtcap_config_new(&cfg), RTCAP_OK);
  ASSERT_EQ(rtcap_config_add_interface(cfg, "lo"), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_netns(cfg, kMissing), RTCAP_OK);
  rtcap_engine* e = nullptr;
  EXPECT_EQ(rtcap_engine_open(cfg, &e), RTCAP_ERR_NO_SUCH_NAMESPACE);
  EXPECT_STREQ(rtcap_status_name(RTCAP_ERR_NO_SUCH_NAMESPACE), "RTCAP_ERR_NO_SUCH_NAMESPACE");
  EXPECT_NE(std::string(rtcap_last_error()).find(kMissing), std::string::npos);
  rtcap_config_free(cfg);
}

TEST(Netns, AMissingInterfaceInsideANamespaceNamesIt) {
  if (geteuid() != 0) GTEST_SKIP() << "entering a network namespace needs CAP_SYS_ADMIN (root)";
  rtcap::CaptureConfig c;
  c.interfaces = {"rtcapnosuch0"};
  c.netns = "/proc/self/ns/net";  // our own: entered and left again, nothing made
  auto opened = rtcap::Engine::open(c);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, rtcap::ErrorCode::kNoSuchDevice);
  EXPECT_NE(opened.error().message.find(
                "no such interface 'rtcapnosuch0' in network namespace '/proc/self/ns/net'"),
            std::string::npos)
      << opened.error().message;
}

}  // namespace
