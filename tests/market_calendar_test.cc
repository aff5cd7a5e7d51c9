#include "mdfetch/market_calendar.h"

#include <gtest/gtest.h>

namespace mdfetch {
namespace {

using namespace std::chrono;

Date D(int y, unsigned m, unsigned d) { return Date{year(y), month(m), day(d)}; }

// A UTC instant from its calendar parts.
WallTime Utc(int y, unsigned m, unsigned d, int hh, int mm = 0) {
  return WallTime{sys_days{D(y, m, d)}} + hours(hh) + minutes(mm);
}

TEST(MarketCalendarTest, ThanksgivingClosedAndDayAfterOpen) {
  EXPECT_FALSE(IsTradingDay(D(2026, 11, 26)));
  EXPECT_TRUE(IsTradingDay(D(2026, 11, 27)));
}

TEST(MarketCalendarTest, GoodFridayClosed) {
  EXPECT_FALSE(IsTradingDay(D(2025, 4, 18)));
  EXPECT_FALSE(IsTradingDay(D(2024, 3, 29)));
  EXPECT_TRUE(IsTradingDay(D(2025, 4, 17)));
  EXPECT_TRUE(IsTradingDay(D(2025, 4, 21)));  // Easter Monday is a US trading day
}

TEST(MarketCalendarTest, JuneteenthClosedOnlyFrom2022) {
  EXPECT_FALSE(IsTradingDay(D(2024, 6, 19)));
  EXPECT_TRUE(IsTradingDay(D(2021, 6, 18)));   // 2021: Saturday the 19th, not yet a holiday
  EXPECT_FALSE(IsTradingDay(D(2022, 6, 20)));  // 2022: Sunday the 19th, observed Monday
}

TEST(MarketCalendarTest, SundayChristmasObservedMonday) {
  EXPECT_FALSE(IsTradingDay(D(2022, 12, 26)));
  EXPECT_TRUE(IsTradingDay(D(2022, 12, 23)));
}

TEST(MarketCalendarTest, SaturdayHolidaysObservedFriday) {
  EXPECT_FALSE(IsTradingDay(D(2021, 12, 24)));  // Christmas 2021 was a Saturday
  EXPECT_FALSE(IsTradingDay(D(2020, 7, 3)));    // Independence Day 2020 was a Saturday
}

TEST(MarketCalendarTest, SaturdayNewYearIsNotObservedOnNewYearsEve) {
  EXPECT_TRUE(IsTradingDay(D(2021, 12, 31)));
  EXPECT_FALSE(IsTradingDay(D(2023, 1, 2)));  // Sunday 2023-01-01 observed Monday
}

TEST(MarketCalendarTest, SaturdayNewYearOf2000And2005And2011LeftTheOldYearOpen) {
  EXPECT_TRUE(IsTradingDay(D(1999, 12, 31)));
  EXPECT_TRUE(IsTradingDay(D(2004, 12, 31)));
  EXPECT_TRUE(IsTradingDay(D(2010, 12, 31)));
  EXPECT_FALSE(IsTradingDay(D(2012, 1, 2)));  // Sunday 2012-01-01 observed Monday
}

TEST(MarketCalendarTest, HolidayRulesSince1999) {
  EXPECT_FALSE(IsTradingDay(D(1999, 1, 18)));   // Martin Luther King Jr. Day, from 1998
  EXPECT_FALSE(IsTradingDay(D(1999, 12, 24)));  // Christmas 1999 was a Saturday
  EXPECT_FALSE(IsTradingDay(D(2000, 4, 21)));   // Good Friday
  EXPECT_FALSE(IsTradingDay(D(2004, 7, 5)));    // Sunday Independence Day observed Monday
  EXPECT_FALSE(IsTradingDay(D(2027, 6, 18)));   // Saturday Juneteenth observed Friday
  EXPECT_TRUE(IsTradingDay(D(2021, 6, 18)));    // no Juneteenth before 2022
}

TEST(MarketCalendarTest, SeptemberEleventhClosedFourDays) {
  EXPECT_TRUE(IsTradingDay(D(2001, 9, 10)));
  for (unsigned day = 11; day <= 14; ++day) EXPECT_FALSE(IsTradingDay(D(2001, 9, day))) << day;
  EXPECT_TRUE(IsTradingDay(D(2001, 9, 17)));
  EXPECT_EQ(TradingDaysBetween(D(2000, 12, 31), D(2001, 12, 31)), 248);
}

TEST(MarketCalendarTest, ReaganDayOfMourningClosed) {
  EXPECT_TRUE(IsTradingDay(D(2004, 6, 10)));
  EXPECT_FALSE(IsTradingDay(D(2004, 6, 11)));
  EXPECT_TRUE(IsTradingDay(D(2004, 6, 14)));
}

TEST(MarketCalendarTest, FordDayOfMourningClosedAfterNewYear) {
  EXPECT_TRUE(IsTradingDay(D(2006, 12, 29)));
  EXPECT_FALSE(IsTradingDay(D(2007, 1, 1)));
  EXPECT_FALSE(IsTradingDay(D(2007, 1, 2)));
  EXPECT_TRUE(IsTradingDay(D(2007, 1, 3)));
}

TEST(MarketCalendarTest, HurricaneSandyClosedTwoDays) {
  EXPECT_TRUE(IsTradingDay(D(2012, 10, 26)));
  EXPECT_FALSE(IsTradingDay(D(2012, 10, 29)));
  EXPECT_FALSE(IsTradingDay(D(2012, 10, 30)));
  EXPECT_TRUE(IsTradingDay(D(2012, 10, 31)));
  EXPECT_EQ(TradingDaysBetween(D(2011, 12, 31), D(2012, 12, 31)), 250);
}

TEST(MarketCalendarTest, GeorgeHWBushDayOfMourningClosed) {
  EXPECT_TRUE(IsTradingDay(D(2018, 12, 4)));
  EXPECT_FALSE(IsTradingDay(D(2018, 12, 5)));
  EXPECT_TRUE(IsTradingDay(D(2018, 12, 6)));
}

TEST(MarketCalendarTest, CarterDayOfMourningClosed) {
  EXPECT_TRUE(IsTradingDay(D(2025, 1, 8)));
  EXPECT_FALSE(IsTradingDay(D(2025, 1, 9)));
  EXPECT_TRUE(IsTradingDay(D(2025, 1, 10)));
  // The last session before the closure: Wednesday the 8th, all through Thursday.
  EXPECT_EQ(LastSessionDate(Utc(2025, 1, 9, 23)), D(2025, 1, 8));
}

TEST(MarketCalendarTest, DayAfterThanksgivingClosesAt13) {
  EXPECT_EQ(SessionClose(D(2026, 11, 27)), hours(13));
  EXPECT_EQ(SessionClose(D(2025, 11, 28)), hours(13));
  EXPECT_EQ(SessionClose(D(2026, 11, 25)), hours(16));
  EXPECT_EQ(SessionClose(D(2026, 11, 30)), hours(16));
  EXPECT_EQ(ExtendedClose(D(2026, 11, 27)), hours(17));
  EXPECT_EQ(ExtendedClose(D(2026, 11, 30)), hours(20));
}

TEST(MarketCalendarTest, ChristmasEveClosesAt13WhenItIsATradingDay) {
  EXPECT_EQ(SessionClose(D(2026, 12, 24)), hours(13));  // Thursday
  EXPECT_EQ(SessionClose(D(2018, 12, 24)), hours(13));  // Monday
  EXPECT_FALSE(IsTradingDay(D(2021, 12, 24)));          // Friday: the observed Christmas
  EXPECT_EQ(SessionClose(D(2026, 12, 23)), hours(16));
  // After a Thursday Christmas the Friday is a full day, except in 2003.
  EXPECT_EQ(SessionClose(D(2025, 12, 26)), hours(16));
  EXPECT_EQ(SessionClose(D(2003, 12, 26)), hours(13));
}

TEST(MarketCalendarTest, DayBeforeIndependenceDayClosesAt13WhenItIsATradingDay) {
  EXPECT_EQ(SessionClose(D(2025, 7, 3)), hours(13));  // Thursday before a Friday July 4
  EXPECT_EQ(SessionClose(D(2023, 7, 3)), hours(13));  // Monday before a Tuesday July 4
  EXPECT_EQ(SessionClose(D(2024, 7, 3)), hours(13));  // Wednesday, since 2013
  // July 4 on a Saturday: Friday July 3 is the holiday, Thursday a full day.
  EXPECT_FALSE(IsTradingDay(D(2026, 7, 3)));
  EXPECT_EQ(SessionClose(D(2026, 7, 2)), hours(16));
  // July 4 on a Monday: the Friday before is a full day.
  EXPECT_EQ(SessionClose(D(2022, 7, 1)), hours(16));
  // Before 2013 a Thursday July 4 closed Friday July 5 early and left July 3 whole.
  EXPECT_EQ(SessionClose(D(2002, 7, 3)), hours(16));
  EXPECT_EQ(SessionClose(D(2002, 7, 5)), hours(13));
  EXPECT_EQ(SessionClose(D(2019, 7, 5)), hours(16));
}

TEST(MarketCalendarTest, TheSameRulesHoldOutsideThePrecomputedYears) {
  EXPECT_FALSE(IsTradingDay(D(2200, 12, 25)));
  EXPECT_EQ(SessionClose(D(2200, 12, 24)), hours(13));
  EXPECT_EQ(SessionClose(D(2200, 12, 23)), hours(16));
  EXPECT_FALSE(IsTradingDay(D(1920, 7, 5)));  // Sunday July 4 observed Monday (today's rules)
  EXPECT_TRUE(IsTradingDay(D(1920, 7, 6)));
}

TEST(MarketCalendarTest, LastCloseOnAnEarlyCloseDayIsAt13) {
  // Friday 2026-11-27, EST: 13:00 New York is 18:00 UTC.
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 27, 18, 30)), Utc(2026, 11, 27, 18));
  EXPECT_EQ(LastSessionDate(Utc(2026, 11, 27, 18, 30)), D(2026, 11, 27));
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 27, 17, 59)), Utc(2026, 11, 25, 21));
  // Thursday 2025-07-03, EDT: 17:00 UTC.
  EXPECT_EQ(LastMarketClose(Utc(2025, 7, 3, 17)), Utc(2025, 7, 3, 17));
}

TEST(MarketCalendarTest, MondayHolidaysClosed) {
  EXPECT_FALSE(IsTradingDay(D(2026, 1, 19)));  // Martin Luther King Jr. Day
  EXPECT_FALSE(IsTradingDay(D(2026, 2, 16)));  // Washington's Birthday
  EXPECT_FALSE(IsTradingDay(D(2026, 5, 25)));  // Memorial Day
  EXPECT_FALSE(IsTradingDay(D(2026, 9, 7)));   // Labor Day
  EXPECT_TRUE(IsTradingDay(D(2026, 1, 12)));
}

TEST(MarketCalendarTest, WeekendsClosed) {
  EXPECT_FALSE(IsTradingDay(D(2026, 11, 28)));
  EXPECT_FALSE(IsTradingDay(D(2026, 11, 29)));
  EXPECT_TRUE(IsTradingDay(D(2026, 11, 30)));
}

TEST(MarketCalendarTest, DstStartsSecondSundayOfMarchAt7Utc) {
  EXPECT_EQ(NewYorkOffset(Utc(2026, 3, 8, 6, 59)), hours(-5));
  EXPECT_EQ(NewYorkOffset(Utc(2026, 3, 8, 7, 0)), hours(-4));
  EXPECT_EQ(NewYorkOffset(Utc(2026, 3, 7, 12)), hours(-5));
}

TEST(MarketCalendarTest, DstEndsFirstSundayOfNovemberAt6Utc) {
  EXPECT_EQ(NewYorkOffset(Utc(2026, 11, 1, 5, 59)), hours(-4));
  EXPECT_EQ(NewYorkOffset(Utc(2026, 11, 1, 6, 0)), hours(-5));
  EXPECT_EQ(NewYorkOffset(Utc(2026, 7, 1, 12)), hours(-4));
  EXPECT_EQ(NewYorkOffset(Utc(2026, 1, 15, 12)), hours(-5));
}

TEST(MarketCalendarTest, LastCloseInWinterIsAt21Utc) {
  // Monday 2026-11-30, EST: the close is 21:00 UTC.
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 30, 21, 0)), Utc(2026, 11, 30, 21));
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 30, 21, 1)), Utc(2026, 11, 30, 21));
  // One minute before, the last close is the previous trading day's: Friday the 27th, the day
  // after Thanksgiving, closed at 13:00 (18:00 UTC).
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 30, 20, 59)), Utc(2026, 11, 27, 18));
}

TEST(MarketCalendarTest, LastCloseInSummerIsAt20Utc) {
  EXPECT_EQ(LastMarketClose(Utc(2026, 7, 1, 20, 30)), Utc(2026, 7, 1, 20));
  EXPECT_EQ(LastMarketClose(Utc(2026, 7, 1, 19, 59)), Utc(2026, 6, 30, 20));
}

TEST(MarketCalendarTest, MondayMorningGivesPreviousFriday) {
  // 2026-12-07 is a Monday; 14:00 UTC is 09:00 in New York.
  EXPECT_EQ(LastMarketClose(Utc(2026, 12, 7, 14)), Utc(2026, 12, 4, 21));
  EXPECT_EQ(LastSessionDate(Utc(2026, 12, 7, 14)), D(2026, 12, 4));
}

TEST(MarketCalendarTest, LateEveningUtcIsStillTheSameNewYorkDay) {
  // 2026-12-04 03:00 UTC is Thursday 22:00 in New York: the session of Thursday the 3rd.
  EXPECT_EQ(LastSessionDate(Utc(2026, 12, 4, 3)), D(2026, 12, 3));
}

TEST(MarketCalendarTest, AfterHolidayGivesDayBeforeHoliday) {
  // Thanksgiving evening and the next morning: the last session is Wednesday the 25th.
  EXPECT_EQ(LastSessionDate(Utc(2026, 11, 26, 23)), D(2026, 11, 25));
  EXPECT_EQ(LastMarketClose(Utc(2026, 11, 27, 15)), Utc(2026, 11, 25, 21));
  // Good Friday 2025 and the weekend after it: Thursday the 17th (EDT close 20:00 UTC).
  EXPECT_EQ(LastMarketClose(Utc(2025, 4, 21, 12)), Utc(2025, 4, 17, 20));
}

TEST(MarketCalendarTest, TradingDaysBetweenExcludesFromIncludesTo) {
  EXPECT_EQ(TradingDaysBetween(D(2026, 11, 23), D(2026, 11, 27)), 3);  // Tue, Wed, Fri
  EXPECT_EQ(TradingDaysBetween(D(2026, 11, 27), D(2026, 11, 30)), 1);
  EXPECT_EQ(TradingDaysBetween(D(2026, 11, 27), D(2026, 11, 27)), 0);
  EXPECT_EQ(TradingDaysBetween(D(2026, 11, 30), D(2026, 11, 27)), 0);
  EXPECT_EQ(TradingDaysBetween(D(2025, 12, 31), D(2026, 12, 31)), 251);
}

TEST(MarketCalendarTest, FormatAndParseDateRoundTrip) {
  EXPECT_EQ(FormatDate(D(2026, 3, 8)), "2026-03-08");
  EXPECT_EQ(ParseDate("2026-03-08"), D(2026, 3, 8));
  EXPECT_EQ(ParseDate(FormatDate(D(2000, 1, 3))), D(2000, 1, 3));
  EXPECT_EQ(ParseDate("2018-06-01 16:00:00"), D(2018, 6, 1));
}

TEST(MarketCalendarTest, ParseDateRejectsMalformedText) {
  EXPECT_EQ(ParseDate("2026-13-01"), std::nullopt);
  EXPECT_EQ(ParseDate("2026-02-30"), std::nullopt);
  EXPECT_EQ(ParseDate("abc"), std::nullopt);
  EXPECT_EQ(ParseDate(""), std::nullopt);
  EXPECT_EQ(ParseDate("2026-1-01"), std::nullopt);
  EXPECT_EQ(ParseDate("2026-01-01 25:00:00"), std::nullopt);
  EXPECT_EQ(ParseDate("2026-01-01T10:00:00"), std::nullopt);
}

TEST(MarketCalendarTest, FormatUtcShowsSecondsAndZ) {
  EXPECT_EQ(FormatUtc(Utc(2026, 11, 23, 21, 5)), "2026-11-23 21:05:00Z");
  EXPECT_EQ(FormatUtc(Utc(2026, 11, 23, 21, 5) + milliseconds(1999)), "2026-11-23 21:05:01Z");
}

TEST(MarketCalendarTest, UnixMillisRoundTrip) {
  const WallTime t = Utc(2026, 11, 23, 21, 5) + milliseconds(123);
  EXPECT_EQ(ToUnixMillis(t), 1795467900123);
  EXPECT_EQ(FromUnixMillis(ToUnixMillis(t)), t);
}

}  // namespace
}  // namespace mdfetch
