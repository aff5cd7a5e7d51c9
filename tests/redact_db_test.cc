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
            "postgresql://a:***@db/m?password=***#frag");
}

}  // namespace
}  // namespace mdfetch
