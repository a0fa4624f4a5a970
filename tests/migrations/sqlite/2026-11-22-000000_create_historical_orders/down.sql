DROP TABLE "historical_orders";
