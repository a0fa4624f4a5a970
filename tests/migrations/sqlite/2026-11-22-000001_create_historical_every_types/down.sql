DROP TABLE "historical_every_types";
