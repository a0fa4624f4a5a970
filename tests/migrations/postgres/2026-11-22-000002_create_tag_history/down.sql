DROP TABLE "tag_history";
