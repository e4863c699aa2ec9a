-- A parameter default cannot be removed by CREATE OR REPLACE: the function goes, and the
-- revision brings 0015's back from 0015's own file.
DROP FUNCTION chat_log_write(boolean, uuid[], uuid[], uuid[], uuid[], text[],
    text[], jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[],
    uuid[], uuid[], uuid[], uuid[], text[], jsonb[], text[], text[], text[], text[],
    jsonb[], jsonb[], text[], text[], text[], text[], text[], bytea[]);
