ALTER TABLE `partners` DROP COLUMN `source_key`;--> statement-breakpoint
ALTER TABLE `subscriptions` DROP COLUMN `source_key`;