DROP TABLE "historical_tickets";
