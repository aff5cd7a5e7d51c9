// IsPostgresUri and RedactDb: how a --db value is classified and shown.
#include <gtest/gtest.h>

#include "mdfetch/redact.h"

namespace mdfetch {
namespace {

TEST(IsPostgresUriTest, OnlyTheTwoLibpqSchemesInAnyCaseNameAServer) {
  EXPECT_TRUE(IsPostgresUri("postgresql://ann@db.example/market"));
  EXPECT_TRUE(IsPostgresUri("postgres://localhost"));
  EXPECT_TRUE(IsPostgresUri("PostgreSQL:///market?host=/run/pg"));
  EXPECT_FALSE(IsPostgresUri("data/market.db"));
  EXPECT_FALSE(IsPostgresUri(":memory:"));
  EXPECT_FALSE(IsPostgresUri("postgresql:/market"));
  EXPECT_FALSE(IsPostgresUri("./postgresql://x"));
  EXPECT_FALSE(IsPostgresUri(""));
}

TEST(RedactDbTest, APathIsShownAsItIs) {
  EXPECT_EQ(RedactDb("data/market.db"), "data/market.db");
  EXPECT_EQ(RedactDb("/tmp/ann:secret@x.db"), "/tmp/ann:secret@x.db");
}

TEST(RedactDbTest, ThePasswordOfTheUserPartIsMasked) {
  EXPECT_EQ(RedactDb("postgresql://ann:s3cret@db.example:5433/market"),
            "postgresql://ann:***@db.example:5433/market");
  EXPECT_EQ(RedactDb("postgres://ann:p%40ss@db/market?sslmode=require"),
            "postgres://ann:***@db/market?sslmode=require");
  EXPECT_EQ(RedactDb("postgresql://ann:@db/market"), "postgresql://ann:***@db/market");
}

TEST(RedactDbTest, AUriWithoutAPasswordIsUnchanged) {
  EXPECT_EQ(RedactDb("postgresql://ann@db/market"), "postgresql://ann@db/market");
  EXPECT_EQ(RedactDb("postgresql://db:5432/market"), "postgresql://db:5432/market");
  EXPECT_EQ(RedactDb("postgresql:///market?host=/run/pg"), "postgresql:///market?host=/run/pg");
  // An '@' or ':' after the authority is no user part.
  EXPECT_EQ(RedactDb("postgresql://db/market?application_name=a:b@c"),
            "postgresql://db/market?application_name=a:b@c");
}

TEST(RedactDbTest, EveryPasswordParameterIsMasked) {
  EXPECT_EQ(RedactDb("postgresql://db/market?user=ann&password=s3cret&sslmode=require"),
            "postgresql://db/market?user=ann&password=***&sslmode=require");
  EXPECT_EQ(RedactDb("postgresql:///m?PASSWORD=x&password=y"),
            "postgresql:///m?PASSWORD=***&password=***");
  EXPECT_EQ(RedactDb("postgresql://a:b@db/m?password=c#frag"),
            "postgresql://a:***@db/m?password=***");  // "#frag" is part of the value to libpq
}

}  // namespace
}  // namespace mdfetch

namespace mdfetch {
namespace {

// libpq's URI parser decides what the password is: the user part ends at the first '@'
// before a '/', so '#' and '?' there belong to the password; parameters split on '&' only.
TEST(RedactDbTest, ThePasswordIsFoundWhereLibpqFindsIt) {
  EXPECT_EQ(RedactDb("postgresql://ann:pa#ss@db/market"), "postgresql://ann:***@db/market");
  EXPECT_EQ(RedactDb("postgresql://ann:pa?ss@db/market"), "postgresql://ann:***@db/market");
  EXPECT_EQ(RedactDb("postgresql://db/m?password=a#b&sslmode=require"),
            "postgresql://db/m?password=***&sslmode=require");
  EXPECT_EQ(RedactDb("postgresql://db/m?sslpassword=k3y&sslkey=/k"),
            "postgresql://db/m?sslpassword=***&sslkey=/k");
  EXPECT_EQ(RedactDb("postgresql://ann:x@y@db/m"), "postgresql://ann:***@y@db/m");
}

TEST(DbPasswordsTest, EverySecretAsWrittenAndDecoded) {
  EXPECT_EQ(DbPasswords("postgresql://ann:50%25off@db/m?sslpassword=k%40y"),
            (std::vector<std::string>{"50%25off", "50%off", "k%40y", "k@y"}));
  EXPECT_EQ(DbPasswords("postgresql://ann:50%off@db/m"), (std::vector<std::string>{"50%off"}));
  EXPECT_TRUE(DbPasswords("postgresql://ann@db/m").empty());
  EXPECT_TRUE(DbPasswords("data/ann:pw@x.db").empty());
}

}  // namespace
}  // namespace mdfetch
