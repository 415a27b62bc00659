CREATE TABLE "upstream_objects" (
	"provider" text NOT NULL,
	"kind" text NOT NULL,
	"object_id" text NOT NULL,
	"org_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "upstream_objects_provider_kind_object_id_pk" PRIMARY KEY("provider","kind","object_id")
);
--> statement-breakpoint
CREATE INDEX "upstream_objects_org_idx" ON "upstream_objects" USING btree ("org_id");
