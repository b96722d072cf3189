CREATE TABLE `actions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subscription_id` text NOT NULL,
	`action` text NOT NULL,
	`anniversary_on` text NOT NULL,
	`outcome` text NOT NULL,
	`effective_on` text NOT NULL,
	`detail` text,
	`job_id` text,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `actions_key_idx` ON `actions` (`subscription_id`,`action`,`anniversary_on`);--> statement-breakpoint
CREATE INDEX `actions_outcome_idx` ON `actions` (`outcome`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`effective_on` text,
	`subscription_id` text,
	`partner_id` text,
	`event` text NOT NULL,
	`actor` text NOT NULL,
	`actor_ref` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_subscription_idx` ON `audit_events` (`subscription_id`,`id`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`partner_id` text NOT NULL,
	`name` text NOT NULL,
	`email` text NOT NULL,
	`role` text NOT NULL,
	FOREIGN KEY (`partner_id`) REFERENCES `partners`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `contacts_partner_idx` ON `contacts` (`partner_id`);--> statement-breakpoint
CREATE TABLE `invoices` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`number` text NOT NULL,
	`subscription_id` text NOT NULL,
	`anniversary_on` text NOT NULL,
	`purpose` text NOT NULL,
	`offer` text NOT NULL,
	`amount_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`method` text NOT NULL,
	`status` text NOT NULL,
	`renews_to` text NOT NULL,
	`issued_on` text NOT NULL,
	`paid_on` text,
	`failure_reason` text,
	`gateway_ref` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_number_unique` ON `invoices` (`number`);--> statement-breakpoint
CREATE INDEX `invoices_subscription_idx` ON `invoices` (`subscription_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_auto_renew_idx` ON `invoices` (`subscription_id`,`anniversary_on`) WHERE purpose = 'auto-renew';--> statement-breakpoint
CREATE TABLE `notices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`message_id` text NOT NULL,
	`subscription_id` text NOT NULL,
	`kind` text NOT NULL,
	`anniversary_on` text NOT NULL,
	`locale` text NOT NULL,
	`recipients` text NOT NULL,
	`data` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`sent_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notices_message_id_unique` ON `notices` (`message_id`);--> statement-breakpoint
CREATE INDEX `notices_subscription_idx` ON `notices` (`subscription_id`);--> statement-breakpoint
CREATE INDEX `notices_status_idx` ON `notices` (`status`);--> statement-breakpoint
CREATE TABLE `partners` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`locale` text NOT NULL,
	`is_migrated` integer NOT NULL,
	`bill_to_line1` text,
	`bill_to_line2` text,
	`bill_to_city` text,
	`bill_to_region` text,
	`bill_to_postal_code` text,
	`bill_to_country` text,
	`has_bill_to` integer NOT NULL,
	`source_key` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scan_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`as_of` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text,
	`due_count` integer DEFAULT 0 NOT NULL,
	`enqueued_count` integer DEFAULT 0 NOT NULL,
	`missed_count` integer DEFAULT 0 NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scan_runs_daily_idx` ON `scan_runs` (`as_of`) WHERE "trigger" = 'daily';--> statement-breakpoint
CREATE INDEX `scan_runs_started_idx` ON `scan_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`partner_id` text NOT NULL,
	`offer` text NOT NULL,
	`competency_area` text,
	`competency_level` text,
	`purchased_on` text NOT NULL,
	`imported_anniversary_on` text NOT NULL,
	`anniversary_on` text NOT NULL,
	`is_auto_renew` integer NOT NULL,
	`is_requirements_met` integer NOT NULL,
	`payment_method` text,
	`payment_token` text,
	`payment_contact_name` text,
	`payment_phone` text,
	`payment_email` text,
	`status` text NOT NULL,
	`done_mask` integer DEFAULT 0 NOT NULL,
	`next_due_on` text,
	`cancelled_on` text,
	`cancel_ticket` text,
	`lapsed_on` text,
	`pending_invoice` text,
	`source_key` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `subscriptions_next_due_idx` ON `subscriptions` (`next_due_on`,`id`) WHERE next_due_on IS NOT NULL;--> statement-breakpoint
CREATE INDEX `subscriptions_partner_idx` ON `subscriptions` (`partner_id`);--> statement-breakpoint
CREATE INDEX `subscriptions_anniversary_idx` ON `subscriptions` (`anniversary_on`);