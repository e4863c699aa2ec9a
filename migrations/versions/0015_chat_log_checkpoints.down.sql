DROP FUNCTION IF EXISTS chat_log_write(boolean, uuid[], uuid[], uuid[], uuid[], text[],
    text[], jsonb[], text[], text[], text[], integer[], integer[], integer[], jsonb[], uuid[],
    uuid[], uuid[], uuid[], uuid[], text[], jsonb[], text[], text[], text[], text[],
    jsonb[], jsonb[], text[], text[], text[], text[], text[], bytea[]);
