package io.bionicpro.debezium;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.debezium.DebeziumException;
import io.debezium.bean.StandardBeanNames;
import io.debezium.connector.postgresql.PostgresConnectorConfig;
import io.debezium.jdbc.JdbcConnection;
import io.debezium.pipeline.spi.OffsetContext;
import io.debezium.pipeline.spi.Offsets;
import io.debezium.snapshot.mode.InitialSnapshotter;

/**
 * Debezium's {@code initial} snapshot mode, with one change: an initial snapshot always comes from a
 * replication slot created for it.
 *
 * <p>Debezium takes a consistent snapshot only when it creates the slot (it reads the tables in the
 * slot's exported snapshot and streams from the slot's consistent point). When the slot already
 * exists — the task restarted before Kafka Connect committed the offset that records the end of its
 * snapshot, or died mid-snapshot, or its offsets were reset — Debezium 3.6 reads the tables in READ
 * COMMITTED at some point after the position it streams from: a change committed in between is in the
 * snapshot and streamed again (counted twice downstream), a row deleted in between is retracted twice.
 *
 * <p>So when the task is about to snapshot (no offset, or an offset of a snapshot in progress) and the
 * slot exists, this drops the slot first; Debezium then creates it anew and snapshots consistently.
 * Nothing is lost: the snapshot that follows reads every row, and the consumers apply it as a reset of
 * each table at its position (docs/consumers.md "Resets"). With a completed snapshot in the offsets it
 * behaves exactly like {@code initial}.
 *
 * <p>Runs when Debezium creates its snapshotter service, after it has loaded the offsets and before it
 * looks at the slot (PostgresConnectorTask.start). Connector config:
 * {@code snapshot.mode=custom}, {@code snapshot.mode.custom.name=bionicpro_initial}.
 */
public class FreshSlotSnapshotter extends InitialSnapshotter {

    public static final String NAME = "bionicpro_initial";

    private static final Logger LOGGER = LoggerFactory.getLogger(FreshSlotSnapshotter.class);

    /** How long to wait for a slot still held by a replication connection (a task that just died). */
    private static final long ACTIVE_SLOT_WAIT_MS = 60_000;
    private static final long ACTIVE_SLOT_POLL_MS = 500;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void configure(Map<String, ?> properties) {
        super.configure(properties);
        if (beanRegistry == null) {
            throw new DebeziumException(NAME + " snapshotter: Debezium did not provide its bean registry");
        }
        Offsets<?, ?> offsets = beanRegistry.lookupByName(StandardBeanNames.OFFSETS, Offsets.class);
        OffsetContext offset = offsets == null ? null : offsets.getTheOnlyOffset();
        boolean offsetExists = offset != null;
        boolean snapshotInProgress = offsetExists && offset.isInitialSnapshotRunning();
        if (!shouldSnapshotData(offsetExists, snapshotInProgress)) {
            return;
        }
        String slot = beanRegistry.lookupByName(StandardBeanNames.CONNECTOR_CONFIG, PostgresConnectorConfig.class).slotName();
        JdbcConnection jdbc = beanRegistry.lookupByName(StandardBeanNames.JDBC_CONNECTION, JdbcConnection.class);
        try {
            dropStaleSlot(jdbc.connection(), slot, offsetExists ? "its snapshot did not complete" : "it has no offset");
        }
        catch (SQLException e) {
            throw new DebeziumException("Could not drop replication slot '" + slot + "' before a new snapshot", e);
        }
    }

    private static void dropStaleSlot(Connection connection, String slot, String why) throws SQLException {
        long deadline = System.currentTimeMillis() + ACTIVE_SLOT_WAIT_MS;
        try {
            while (true) {
                Boolean active = slotActive(connection, slot);
                if (active == null) {
                    endTransaction(connection);
                    return;
                }
                if (!active) {
                    try (PreparedStatement drop = connection.prepareStatement(
                            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                                    + "WHERE slot_name = ? AND database = current_database() AND NOT active")) {
                        drop.setString(1, slot);
                        drop.execute();
                    }
                    endTransaction(connection);
                    LOGGER.info("Dropped replication slot '{}' before a new initial snapshot ({}): a snapshot "
                            + "of an existing slot is not consistent with what it streams", slot, why);
                    return;
                }
                endTransaction(connection);
                if (System.currentTimeMillis() > deadline) {
                    throw new DebeziumException("Replication slot '" + slot + "' is still in use after "
                            + ACTIVE_SLOT_WAIT_MS / 1000 + " s; a new snapshot needs it dropped first "
                            + "(is another task of this connector still running?)");
                }
                try {
                    Thread.sleep(ACTIVE_SLOT_POLL_MS);
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DebeziumException("Interrupted while waiting for replication slot '" + slot + "'", e);
                }
            }
        }
        catch (SQLException | RuntimeException e) {
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
            throw e;
        }
    }

    /** Ends the transaction of the queries on Debezium's connection (it may not autocommit). */
    private static void endTransaction(Connection connection) throws SQLException {
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
    }

    /** Whether the slot is held by a replication connection; null when there is no such slot. */
    private static Boolean slotActive(Connection connection, String slot) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(
                "SELECT active FROM pg_replication_slots WHERE slot_name = ? AND database = current_database()")) {
            query.setString(1, slot);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next() ? rows.getBoolean(1) : null;
            }
        }
    }
}
