-- AlterTable
ALTER TABLE "contacts" ADD COLUMN     "owner_id" TEXT;

-- CreateTable
CREATE TABLE "attribute_definitions" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "label" TEXT,
    "values" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "attribute_definitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attribute_policies" (
    "workspace_id" TEXT NOT NULL,
    "unknown_attributes" TEXT NOT NULL DEFAULT 'store',
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "attribute_policies_pkey" PRIMARY KEY ("workspace_id")
);

-- CreateTable
CREATE TABLE "attribute_changes" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "contact_id" TEXT NOT NULL,
    "attribute" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "source" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "attribute_changes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lists" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "lists_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "list_memberships" (
    "list_id" TEXT NOT NULL,
    "contact_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "added_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "list_memberships_pkey" PRIMARY KEY ("list_id","contact_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "attribute_definitions_workspace_id_key_key" ON "attribute_definitions"("workspace_id", "key");

-- CreateIndex
CREATE INDEX "attribute_changes_contact_id_at_idx" ON "attribute_changes"("contact_id", "at");

-- CreateIndex
CREATE UNIQUE INDEX "lists_workspace_id_key_key" ON "lists"("workspace_id", "key");

-- CreateIndex
CREATE INDEX "list_memberships_contact_id_idx" ON "list_memberships"("contact_id");

-- CreateIndex
CREATE INDEX "contacts_workspace_id_owner_id_idx" ON "contacts"("workspace_id", "owner_id");

-- AddForeignKey
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "list_memberships" ADD CONSTRAINT "list_memberships_list_id_fkey" FOREIGN KEY ("list_id") REFERENCES "lists"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "list_memberships" ADD CONSTRAINT "list_memberships_contact_id_fkey" FOREIGN KEY ("contact_id") REFERENCES "contacts"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Data: lists journeys kept in `attributes.lists` become static lists with members; the
-- attribute stays, as the copy conditions (`lists`) read.
INSERT INTO "lists" ("id", "workspace_id", "key", "name", "created_at", "updated_at")
SELECT gen_random_uuid()::text, x.workspace_id, x.key, x.key, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM (
    SELECT DISTINCT c.workspace_id, m.v #>> '{}' AS key
    FROM "contacts" c
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(c.attributes -> 'lists') = 'array' THEN c.attributes -> 'lists' ELSE '[]'::jsonb END
    ) AS m(v)
    WHERE jsonb_typeof(m.v) = 'string'
) x
ON CONFLICT ("workspace_id", "key") DO NOTHING;

INSERT INTO "list_memberships" ("list_id", "contact_id", "source", "added_at")
SELECT DISTINCT l.id, c.id, 'migration', CURRENT_TIMESTAMP
FROM "contacts" c
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(c.attributes -> 'lists') = 'array' THEN c.attributes -> 'lists' ELSE '[]'::jsonb END
) AS m(v)
JOIN "lists" l ON l.workspace_id = c.workspace_id AND l.key = m.v #>> '{}'
WHERE jsonb_typeof(m.v) = 'string'
ON CONFLICT DO NOTHING;
